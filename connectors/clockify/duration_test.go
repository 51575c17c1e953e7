package clockify_test

import (
	"testing"
	"time"

	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/clockify/clockifyfake"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "PT1H30M", want: 5400},
		{in: "PT45S", want: 45},
		{in: "P1DT2H", want: 93600},
		{in: "PT0S", want: 0},
		{in: "PT8H", want: 28800},
		{in: "PT1H0M5S", want: 3605},
		{in: "PT1.5S", want: 2},
		{in: "PT0,4S", want: 0},
		{in: "P2D", want: 172800},
		{in: "P1W", want: 604800},
		{in: "PT36H", want: 129600},
		{in: "", bad: true},
		{in: "P", bad: true},
		{in: "PT", bad: true},
		{in: "1H30M", bad: true},
		{in: "PT1H30", bad: true},
		{in: "P1M", bad: true}, // a month has no fixed length
		{in: "P1Y", bad: true},
		{in: "PT1D", bad: true},
		{in: "P1H", bad: true},
		{in: "PTT1H", bad: true},
		{in: "PT1HxS", bad: true},
	} {
		got, err := clockify.ParseDuration(tc.in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("ParseDuration(%q) = %d, want an error", tc.in, got)
		case !tc.bad && err != nil:
			t.Errorf("ParseDuration(%q): %v", tc.in, err)
		case !tc.bad && got != tc.want:
			t.Errorf("ParseDuration(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// The fake writes durations the way the client reads them back.
func TestFakeDurationsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, time.Second, 45 * time.Second, 90 * time.Minute, 26 * time.Hour, 49*time.Hour + 61*time.Second} {
		s := clockifyfake.Duration(d)
		got, err := clockify.ParseDuration(s)
		if err != nil || got != int64(d/time.Second) {
			t.Errorf("%s → %q → %d, %v", d, s, got, err)
		}
	}
}
