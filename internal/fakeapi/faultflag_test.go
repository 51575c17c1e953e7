package fakeapi

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     Fault
		err      string
	}{
		{name: "the issue's example", in: "rate_limited:route=/api/*:times=-1:retry_after=2",
			want: Fault{Kind: RateLimited, Route: "/api/*", Times: -1, RetryAfter: 2}},
		{name: "kind alone", in: "hang", want: Fault{Kind: Hang}},
		{name: "every key", in: "server_error:method=post:path=/1/cards:skip=3:times=2:status=502:body=<html>a: b</html>",
			want: Fault{Kind: ServerError, Method: "POST", Path: "/1/cards", Skip: 3, Times: 2, Status: 502, Body: "<html>a: b</html>"}},
		{name: "each kind", in: "truncated:path=/team/time", want: Fault{Kind: Truncated, Path: "/team/time"}},
		{name: "unauthorized", in: "unauthorized", want: Fault{Kind: Unauthorized}},
		{name: "not found", in: "not_found:route=/1/boards/*", want: Fault{Kind: NotFound, Route: "/1/boards/*"}},
		{name: "unknown kind", in: "slow", err: `kind "slow" is not one of hang, not_found, rate_limited, server_error, truncated, unauthorized`},
		{name: "unknown key", in: "hang:rout=/x", err: "rout: unknown key"},
		{name: "not key=value", in: "hang:/x", err: `"/x" is not key=value`},
		{name: "bad number", in: "hang:times=many", err: `times: "many" is not a number`},
		{name: "times 0", in: "hang:times=0", err: "0 would arm nothing"},
		{name: "negative skip", in: "hang:skip=-1", err: "skip: -1 is below 0"},
		{name: "status off server_error", in: "rate_limited:status=503", err: "status is server_error's"},
		{name: "no status", in: "server_error:status=700", err: "700 is no HTTP status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFault(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseFault(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// The flag repeats, keeps the order given and arms it in that order.
func TestFaultFlags(t *testing.T) {
	t.Parallel()
	var faults FaultFlags
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&faults, "fault", FaultUsage)
	if err := fs.Parse([]string{"-fault", "hang:times=1", "-fault", "rate_limited:times=-1:retry_after=5"}); err != nil {
		t.Fatal(err)
	}
	var armed Faults
	var out strings.Builder
	faults.ArmOn(armed.Arm, &out)
	if out.String() != "faults armed, in order: hang:times=1 rate_limited:times=-1:retry_after=5\n" {
		t.Errorf("said %q", out.String())
	}
	if len(armed.armed) != 2 || armed.armed[0].Kind != Hang || armed.armed[1].Kind != RateLimited || armed.armed[1].RetryAfter != 5 {
		t.Errorf("armed %+v", armed.armed)
	}
	if err := fs.Parse([]string{"-fault", "boom"}); err == nil {
		t.Error("a bad fault parsed")
	}
}
