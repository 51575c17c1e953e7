package push

import (
	"errors"
	"fmt"
	"sort"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/push/sinks"
)

// DecodeSinkOptions decodes the options of every sink the loader left
// undecoded (a loader without LoadOptions.Sinks), with the same
// positions and warnings, reading ${VARS} through lookupEnv (os.LookupEnv
// when nil); the problems come back as mapping.Problems.
func DecodeSinkOptions(l *mapping.Loaded, lookupEnv func(string) (string, bool)) error {
	if l.Routing == nil {
		return nil
	}
	if l.SinkOptions == nil {
		l.SinkOptions = map[string]any{}
	}
	d := &mapping.Decoder{File: l.File, LookupEnv: lookupEnv}
	for _, name := range sinkNames(l.Config) {
		if _, ok := l.SinkOptions[name]; ok {
			continue
		}
		s := l.Routing.Sinks[name]
		k, ok := sinks.Lookup(s.Kind)
		if !ok {
			continue
		}
		o := k.Options()
		if s.Options.Kind != 0 {
			d.Decode(&s.Options, o, fmt.Sprintf("routing.sinks[%q].options", name))
		}
		l.SinkOptions[name] = o
	}
	l.Warnings = append(l.Warnings, warnings(d.Problems)...)
	if errs := d.Problems.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

func warnings(ps mapping.Problems) mapping.Problems {
	var out mapping.Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

func sinkNames(cfg *mapping.Config) []string {
	if cfg.Routing == nil {
		return nil
	}
	names := make([]string, 0, len(cfg.Routing.Sinks))
	for n := range cfg.Routing.Sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SinkError is a sink of the config that cannot be built.
type SinkError struct {
	Sink, Kind string
	Err        error
}

func (e SinkError) Error() string {
	return fmt.Sprintf("routing sink %s (%s): %v", e.Sink, e.Kind, e.Err)
}

func (e SinkError) Unwrap() error { return e.Err }

// SinkErrors are every sink that cannot be built.
type SinkErrors []SinkError

func (es SinkErrors) Error() string {
	var errs []error
	for _, e := range es {
		errs = append(errs, e)
	}
	return errors.Join(errs...).Error()
}

// Open builds every sink of the config from its decoded options (see
// DecodeSinkOptions). It reads secrets and checks what the decoder cannot;
// it opens no connection. The error is a SinkErrors naming every sink that
// could not be built.
func Open(l *mapping.Loaded, env connectors.Env) (map[string]sinks.Sink, error) {
	out := map[string]sinks.Sink{}
	var errs SinkErrors
	for _, name := range sinkNames(l.Config) {
		spec := l.Routing.Sinks[name]
		k, ok := sinks.Lookup(spec.Kind)
		if !ok {
			errs = append(errs, SinkError{Sink: name, Kind: spec.Kind, Err: fmt.Errorf("no sink of kind %q", spec.Kind)})
			continue
		}
		o, ok := l.SinkOptions[name]
		if !ok {
			o = k.Options()
		}
		e := env
		if e.Logger != nil {
			e.Logger = e.Logger.With("sink", name)
		}
		s, err := k.Open(o, e)
		if err != nil {
			errs = append(errs, SinkError{Sink: name, Kind: spec.Kind, Err: err})
			continue
		}
		out[name] = s
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}
