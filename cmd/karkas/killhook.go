package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/karkas/karkas/push/sinks"
)

// killAfterEnv names, for the tests that kill the real binary, a sink and a
// count ("hook:3"): the process kills itself with SIGKILL as soon as that
// sink has answered that many deliveries, before the worker records the
// answer. It is the one moment a delivery can be lost or doubled, and a
// test cannot hit it from outside by timing.
const killAfterEnv = "KARKAS_TEST_KILL_AFTER"

// armKill wraps the sink killAfterEnv names, if it is set.
func (g *globals) armKill(sk map[string]sinks.Sink) error {
	spec, ok := g.env(killAfterEnv)
	if !ok || spec == "" {
		return nil
	}
	name, count, _ := strings.Cut(spec, ":")
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || sk[name] == nil {
		return fmt.Errorf("%s=%q: want SINK:N, a sink of routing.sinks and a count from 1", killAfterEnv, spec)
	}
	k := &killingSink{Sink: sk[name], after: int64(n)}
	if s, ok := sk[name].(sinks.Summarizer); ok {
		sk[name] = summarizingKillingSink{k, s}
	} else {
		sk[name] = k
	}
	return nil
}

type killingSink struct {
	sinks.Sink
	after, answered int64
}

func (k *killingSink) Deliver(ctx context.Context, d sinks.Delivery) (sinks.Result, error) {
	res, err := k.Sink.Deliver(ctx, d)
	if atomic.AddInt64(&k.answered, 1) == k.after {
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {} // the kill arrives
	}
	return res, err
}

// summarizingKillingSink keeps the wrapped sink's Summarizer, which
// planning asks for.
type summarizingKillingSink struct {
	*killingSink
	sinks.Summarizer
}
