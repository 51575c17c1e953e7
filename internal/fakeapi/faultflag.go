package fakeapi

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// kindNames are the kinds as the -fault flag names them.
var kindNames = map[string]Kind{
	"server_error": ServerError,
	"hang":         Hang,
	"truncated":    Truncated,
	"unauthorized": Unauthorized,
	"not_found":    NotFound,
	"rate_limited": RateLimited,
}

// FaultUsage documents the -fault flag of the cmd/*fake commands.
const FaultUsage = "arm a fault, repeatable, tried in order: kind[:key=value]...; kinds: " +
	"server_error, hang, truncated, unauthorized, not_found, rate_limited; keys: " +
	"method, path (a prefix), route (a path.Match pattern), skip, times (default 1, -1 for ever), " +
	"status (server_error's, default 500), retry_after (seconds), body (server_error's body verbatim; last, it takes the rest); " +
	`e.g. -fault 'rate_limited:route=/api/*:times=-1:retry_after=2'`

// ParseFault reads a fault as the -fault flag spells it:
// kind[:key=value]..., e.g. "rate_limited:route=/api/*:times=-1:retry_after=2"
// or "server_error:status=502:path=/1/batch:body=<html>bad gateway</html>".
// body, when given, is the last key and takes the rest of the text, colons
// included.
func ParseFault(s string) (Fault, error) {
	name, rest, _ := strings.Cut(strings.TrimSpace(s), ":")
	kind, ok := kindNames[name]
	if !ok {
		return Fault{}, fmt.Errorf("fault %q: kind %q is not one of %s", s, name, strings.Join(sortedKinds(), ", "))
	}
	f := Fault{Kind: kind}
	for rest != "" {
		var part string
		if strings.HasPrefix(rest, "body=") {
			part, rest = rest, ""
		} else {
			part, rest, _ = strings.Cut(rest, ":")
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return Fault{}, fmt.Errorf("fault %q: %q is not key=value", s, part)
		}
		if err := f.set(key, value); err != nil {
			return Fault{}, fmt.Errorf("fault %q: %s: %w", s, key, err)
		}
	}
	if f.Status != 0 && f.Kind != ServerError {
		return Fault{}, fmt.Errorf("fault %q: status is server_error's", s)
	}
	return f, nil
}

func (f *Fault) set(key, value string) error {
	num := func(dst *int, min int) error {
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%q is not a number", value)
		}
		if n < min {
			return fmt.Errorf("%d is below %d", n, min)
		}
		*dst = n
		return nil
	}
	switch key {
	case "method":
		f.Method = strings.ToUpper(value)
	case "path":
		f.Path = value
	case "route":
		f.Route = value
	case "skip":
		return num(&f.Skip, 0)
	case "times":
		if err := num(&f.Times, -1); err != nil {
			return err
		}
		if f.Times == 0 {
			return errors.New("0 would arm nothing; -1 is for ever")
		}
	case "status":
		if err := num(&f.Status, 100); err != nil {
			return err
		}
		if f.Status > 599 {
			return fmt.Errorf("%d is no HTTP status", f.Status)
		}
	case "retry_after":
		return num(&f.RetryAfter, 0)
	case "body":
		f.Body = value
	default:
		return errors.New("unknown key (method, path, route, skip, times, status, retry_after, body)")
	}
	return nil
}

func sortedKinds() []string {
	names := make([]string, 0, len(kindNames))
	for n := range kindNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FaultFlags is a repeatable -fault flag (a flag.Value): each use adds a
// fault parsed by ParseFault.
type FaultFlags struct {
	Faults []Fault
	specs  []string
}

// String lists the faults as the flags gave them.
func (fs *FaultFlags) String() string {
	if fs == nil {
		return ""
	}
	return strings.Join(fs.specs, " ")
}

// Set parses one fault and adds it.
func (fs *FaultFlags) Set(s string) error {
	f, err := ParseFault(s)
	if err != nil {
		return err
	}
	fs.Faults = append(fs.Faults, f)
	fs.specs = append(fs.specs, strings.TrimSpace(s))
	return nil
}

// ArmOn arms every fault, in order, with arm (a fake's Arm), and says
// what it armed on w when there was any ("faults armed: …").
func (fs *FaultFlags) ArmOn(arm func(Fault), w io.Writer) {
	for _, f := range fs.Faults {
		arm(f)
	}
	if len(fs.Faults) > 0 {
		fmt.Fprintf(w, "faults armed, in order: %s\n", fs)
	}
}
