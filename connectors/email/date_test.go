package email

import (
	"testing"
	"time"
)

// TestParseDate holds dates as mailers really wrote them, each with the
// instant it means worked out by hand (the zone's offset applied), so a
// wrong offset or century fails.
func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // RFC 3339 in UTC; "" for no date
	}{
		{name: "RFC 5322", in: "Mon, 27 May 2024 09:00:00 +0000", want: "2024-05-27T09:00:00Z"},
		{name: "no weekday, no seconds, zone glued to the time", in: "01 Jan 2001 00:01+0000", want: "2001-01-01T00:01:00Z"},
		{name: "positive offset", in: "Tue, 14 May 2024 10:30:00 +0300", want: "2024-05-14T07:30:00Z"},
		{name: "half-hour offset", in: "Thu, 13 Feb 1969 23:32 -0330 (Newfoundland Time)", want: "1969-02-14T03:02:00Z"},
		{name: "EST", in: "Mon, 15 Jan 2024 09:00:00 EST", want: "2024-01-15T14:00:00Z"},
		{name: "EDT", in: "Wed, 15 May 2024 09:00:00 EDT", want: "2024-05-15T13:00:00Z"},
		{name: "CST", in: "15 Jan 2024 09:00 CST", want: "2024-01-15T15:00:00Z"},
		{name: "CDT", in: "15 May 2024 09:00 CDT", want: "2024-05-15T14:00:00Z"},
		{name: "MST", in: "15 Jan 2024 09:00 MST", want: "2024-01-15T16:00:00Z"},
		{name: "MDT", in: "15 May 2024 09:00 MDT", want: "2024-05-15T15:00:00Z"},
		{name: "PST", in: "Fri, 19 Jan 2024 16:45:12 PST", want: "2024-01-20T00:45:12Z"},
		{name: "PDT, lower case", in: "fri, 17 may 2024 16:45:12 pdt", want: "2024-05-17T23:45:12Z"},
		{name: "GMT", in: "Sat, 1 Jun 2024 12:00:00 GMT", want: "2024-06-01T12:00:00Z"},
		{name: "UT", in: "1 Jun 2024 12:00:00 UT", want: "2024-06-01T12:00:00Z"},
		{name: "UTC", in: "1 Jun 2024 12:00:00 UTC", want: "2024-06-01T12:00:00Z"},
		{name: "military letter is -0000", in: "1 Jun 2024 12:00:00 Q", want: "2024-06-01T12:00:00Z"},
		{name: "unknown zone name is -0000", in: "Mon, 3 Jun 2024 12:00:00 MSK", want: "2024-06-03T12:00:00Z"},
		{name: "numeric offset wins over a name after it", in: "Mon, 3 Jun 2024 12:00:00 +0300 MSK", want: "2024-06-03T09:00:00Z"},
		{name: "GMT+hhmm", in: "Tue, 3 Jun 2008 11:05:30 GMT+0300", want: "2008-06-03T08:05:30Z"},
		{name: "no zone at all is -0000", in: "Mon, 3 Jun 2024 12:00:00", want: "2024-06-03T12:00:00Z"},
		{name: "two-digit year before 50", in: "Thu, 2 Jan 03 10:00:00 -0500", want: "2003-01-02T15:00:00Z"},
		{name: "two-digit year 50 and after", in: "20 Jun 82 12:34 EST", want: "1982-06-20T17:34:00Z"},
		{name: "two-digit year 55 is 1955", in: "2 Jan 55 10:00 GMT", want: "1955-01-02T10:00:00Z"},
		{name: "three-digit year counts from 1900", in: "Fri, 21 Nov 104 09:55:06 -0600", want: "2004-11-21T15:55:06Z"},
		{name: "single-digit hour", in: "Mon, 3 Jun 2024 9:05:00 +0200", want: "2024-06-03T07:05:00Z"},
		{name: "extra white space and folding", in: "  Mon,\r\n\t 3   Jun \t 2024   10:00:00    +0000  ", want: "2024-06-03T10:00:00Z"},
		{name: "missing comma", in: "Mon 3 Jun 2024 10:00:00 +0000", want: "2024-06-03T10:00:00Z"},
		{name: "comments everywhere", in: "Mon, (day) 3 (of) Jun 2024 (nested (comment)) 10:00:00 +0000 (UTC)", want: "2024-06-03T10:00:00Z"},
		{name: "full names", in: "Monday, 3 June 2024 10:00:00 +0000", want: "2024-06-03T10:00:00Z"},
		{name: "Sept", in: "3 Sept 2024 10:00 +0000", want: "2024-09-03T10:00:00Z"},
		{name: "wrong weekday is ignored", in: "Fri, 3 Jun 2024 10:00:00 +0000", want: "2024-06-03T10:00:00Z"},
		{name: "ctime", in: "Mon Jun  3 10:00:00 2024", want: "2024-06-03T10:00:00Z"},
		{name: "ctime with zone", in: "Mon Jun 3 10:00:00 PDT 2024", want: "2024-06-03T17:00:00Z"},
		{name: "ctime with offset", in: "Mon Jun 3 10:00:00 -0700 2024", want: "2024-06-03T17:00:00Z"},
		{name: "ISO 8601", in: "2024-06-03T10:00:00+03:00", want: "2024-06-03T07:00:00Z"},
		{name: "ISO 8601 in UTC", in: "2024-06-03T10:00:00.250Z", want: "2024-06-03T10:00:00Z"},
		{name: "ISO date with a space", in: "2024-06-03 10:00:00 -0700", want: "2024-06-03T17:00:00Z"},
		{name: "dashed", in: "Mon, 03-Jun-2024 10:00:00 +0100", want: "2024-06-03T09:00:00Z"},
		{name: "dotted", in: "03.06.2024 10:00 +0300", want: "2024-06-03T07:00:00Z"},
		{name: "PM", in: "Mon, 3 Jun 2024 3:04 PM -0700", want: "2024-06-03T22:04:00Z"},
		{name: "no time is midnight", in: "3 Jun 2024", want: "2024-06-03T00:00:00Z"},
		{name: "leap day", in: "29 Feb 2024 10:00 +0000", want: "2024-02-29T10:00:00Z"},
		{name: "UTC-5", in: "3 Jun 2024 10:00 UTC-5", want: "2024-06-03T15:00:00Z"},

		{name: "empty", in: "", want: ""},
		{name: "words", in: "sometime soon", want: ""},
		{name: "no year", in: "Mon, 3 Jun 10:00:00 +0000", want: ""},
		{name: "no month", in: "3 2024 10:00:00", want: ""},
		{name: "no such day", in: "30 Feb 2024 10:00 +0000", want: ""},
		{name: "no such hour", in: "3 Jun 2024 25:00 +0000", want: ""},
		{name: "year out of range", in: "3 Jun 1066 10:00 +0000", want: ""},
		{name: "five-digit year", in: "3 Jun 20245 10:00 +0000", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseDate(tt.in)
			if tt.want == "" {
				if ok {
					t.Errorf("parseDate(%q) = %v, want no date", tt.in, got)
				}
				return
			}
			want, err := time.Parse(time.RFC3339, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if !ok || !got.Equal(want) {
				t.Errorf("parseDate(%q) = %v, %v; want %v", tt.in, got.UTC(), ok, want)
			}
		})
	}
}

func TestReceivedDate(t *testing.T) {
	t.Parallel()
	got, ok := receivedDate([]string{
		"by mx.agency.example with LMTP id x (no date in this one)",
		"from mail.client.example ([203.0.113.5]) by mx.agency.example with ESMTPS id 4Vq;\r\n\tTue, 14 May 2024 10:00:07 +0300 (MSK)",
		"from laptop by mail.client.example; Tue, 14 May 2024 09:59:58 +0300",
	})
	if want := time.Date(2024, 5, 14, 7, 0, 7, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("receivedDate = %v, %v; want the newest readable one, %v", got, ok, want)
	}
	if _, ok := receivedDate([]string{"from a by b with SMTP"}); ok {
		t.Error("a Received header without a date gave one")
	}
}
