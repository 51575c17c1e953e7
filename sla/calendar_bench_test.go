package sla

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// benchClock is one response clock: when it started, when it is read and
// how much business time it promises.
type benchClock struct {
	start, end time.Time
	target     time.Duration
}

var benchClocks = sync.OnceValue(func() []benchClock {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	clocks := make([]benchClock, 1_000_000)
	for i := range clocks {
		start := time.Unix(base+rng.Int64N(365*86400), rng.Int64N(1e9)).UTC()
		clocks[i] = benchClock{
			start:  start,
			end:    start.Add(time.Duration(rng.Int64N(int64(28 * 24 * time.Hour)))),
			target: time.Duration(rng.Int64N(int64(4 * 5 * 8 * time.Hour))),
		}
	}
	return clocks
})

// benchCalendar is a German office with a lunch break, its tables warm.
func benchCalendar(b *testing.B) *Calendar {
	b.Helper()
	c := mustCalendar(b, CalendarSpec{Name: "bench", Location: mustLoc(b, "Europe/Berlin"), Country: "DE",
		Week: weekdays("09:00-13:00", "14:00-18:00")})
	c.Between(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	return c
}

func reportClocks(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "clocks/s")
}

func BenchmarkBetween(b *testing.B) {
	c, clocks := benchCalendar(b), benchClocks()
	var sink time.Duration
	i := 0
	for b.Loop() {
		p := &clocks[i%len(clocks)]
		sink += c.Between(p.start, p.end)
		i++
	}
	reportClocks(b)
	_ = sink
}

func BenchmarkAdd(b *testing.B) {
	c, clocks := benchCalendar(b), benchClocks()
	var sink int64
	i := 0
	for b.Loop() {
		p := &clocks[i%len(clocks)]
		sink += c.Add(p.start, p.target).Unix()
		i++
	}
	reportClocks(b)
	_ = sink
}

// BenchmarkBetweenParallel shows that readers share the year tables
// without contention.
func BenchmarkBetweenParallel(b *testing.B) {
	c, clocks := benchCalendar(b), benchClocks()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(clocks))
		var sink time.Duration
		for pb.Next() {
			p := &clocks[i%len(clocks)]
			sink += c.Between(p.start, p.end)
			i++
		}
		_ = sink
	})
	reportClocks(b)
}

// BenchmarkYearTable is the one-off cost of a calendar year on first use.
func BenchmarkYearTable(b *testing.B) {
	loc := mustLoc(b, "Europe/Berlin")
	for b.Loop() {
		c := mustCalendar(b, CalendarSpec{Name: "bench", Location: loc, Country: "DE", Week: weekdays("09:00-13:00", "14:00-18:00")})
		c.year(2026)
	}
}
