package service

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/mapping"
	"github.com/karkas/karkas/store"
	"github.com/karkas/karkas/sync/engine"
	"github.com/karkas/karkas/sync/pipeline"
)

// metrics are the daemon's Prometheus metrics (README, Metrics). Counters
// and histograms count what this process did; the gauges of the store
// (deliveries, clocks, jobs) are read from it at each scrape, so every
// replica reports the same shared figures.
type metrics struct {
	reg *prometheus.Registry

	lastSuccess  *prometheus.GaugeVec
	syncDuration *prometheus.HistogramVec
	records      *prometheus.CounterVec
	rowsWritten  *prometheus.CounterVec
	syncErrors   *prometheus.CounterVec
	rateWaits    *prometheus.CounterVec
	lockWaits    *prometheus.CounterVec
	jobErrors    *prometheus.CounterVec
	evaluations  prometheus.Counter
	evalDuration prometheus.Histogram
	delivered    *prometheus.CounterVec
	webhooks     *prometheus.CounterVec
}

func newMetrics(app *pipeline.App) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "karkas_source_last_success_timestamp_seconds",
		Help: "When the source's last full pull by this process succeeded, in Unix seconds (a webhook's pull of one board or repository is not one)."}, []string{"source", "kind"})
	m.syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "karkas_sync_duration_seconds",
		Help:    "How long a pull of a source took, failed or not.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}}, []string{"source", "kind"})
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_sync_records_total",
		Help: "Records the sources gave, by source."}, []string{"source", "kind"})
	m.rowsWritten = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_sync_rows_written_total",
		Help: "Rows the pulls wrote or deleted in the store, by source and table."}, []string{"source", "table"})
	m.syncErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_sync_errors_total",
		Help: "Failed pulls, by source and kind of failure (unauthorized, rate_limited, timeout, other)."}, []string{"source", "error"})
	m.rateWaits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_sync_rate_limit_waits_total",
		Help: "Pulls that ended waiting on a service's rate limit, by source."}, []string{"source"})
	m.lockWaits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_lock_waits_total",
		Help: "Jobs put back because another run (a karkas sync, another replica) held their source or the evaluation."}, []string{"lock"})
	m.jobErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_job_errors_total",
		Help: "Jobs of this process that failed (River retries them with backoff), by job kind and stage."}, []string{"job", "stage"})
	m.evaluations = prometheus.NewCounter(prometheus.CounterOpts{Name: "karkas_evaluations_total",
		Help: "SLA evaluations this process ran."})
	m.evalDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "karkas_evaluation_duration_seconds",
		Help: "How long an SLA evaluation took.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)})
	m.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_deliveries_total",
		Help: "Deliveries this process made, by outcome (sent, found_done, retrying, failed, skipped)."}, []string{"outcome"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karkas_webhook_events_total",
		Help: "Webhook requests, by service and result (accepted, duplicate, ignored, rejected)."}, []string{"service", "result"})
	m.reg.MustRegister(m.lastSuccess, m.syncDuration, m.records, m.rowsWritten, m.syncErrors, m.rateWaits, m.lockWaits,
		m.jobErrors, m.evaluations, m.evalDuration, m.delivered, m.webhooks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{st: app.Store})
	for _, s := range app.Loaded.Sources {
		// Present from the start, so that an alert on a source never
		// synced sees it.
		m.lastSuccess.WithLabelValues(s.ID, s.Kind)
	}
	return m
}

func (m *metrics) jobError(job, stage string) { m.jobErrors.WithLabelValues(job, stage).Inc() }

func (m *metrics) observeSync(src mapping.Source, r engine.Result, partial bool) {
	m.syncDuration.WithLabelValues(src.ID, src.Kind).Observe(r.Duration.Seconds())
	m.records.WithLabelValues(src.ID, src.Kind).Add(float64(r.Received.Total()))
	for table, n := range r.Written {
		m.rowsWritten.WithLabelValues(src.ID, table).Add(float64(n))
	}
	for table, n := range r.Deleted {
		m.rowsWritten.WithLabelValues(src.ID, table).Add(float64(n))
	}
	if r.Err == nil {
		if !partial {
			m.lastSuccess.WithLabelValues(src.ID, src.Kind).Set(float64(time.Now().Unix()))
		}
		return
	}
	kind := "other"
	var rl *connectors.RateLimitError
	var te *connectors.TimeoutError
	switch {
	case errors.Is(r.Err, connectors.ErrUnauthorized):
		kind = "unauthorized"
	case errors.As(r.Err, &rl):
		kind = "rate_limited"
		m.rateWaits.WithLabelValues(src.ID).Inc()
	case errors.As(r.Err, &te):
		kind = "timeout"
	}
	m.syncErrors.WithLabelValues(src.ID, kind).Inc()
}

func (m *metrics) observeEvaluation(took time.Duration) {
	m.evaluations.Inc()
	m.evalDuration.Observe(took.Seconds())
}

func (m *metrics) observeDelivery(d *pipeline.Delivery) {
	if !d.Routed {
		return
	}
	m.delivered.WithLabelValues("sent").Add(float64(d.Delivered - d.Existed))
	m.delivered.WithLabelValues("found_done").Add(float64(d.Existed))
	m.delivered.WithLabelValues("retrying").Add(float64(d.Retrying))
	m.delivered.WithLabelValues("failed").Add(float64(d.Failed))
	m.delivered.WithLabelValues("skipped").Add(float64(d.Skipped))
}

// storeCollector reads the shared state at each scrape: the outbox by
// state and sink, the SLA clocks by state and policy, River's jobs by
// state and kind.
type storeCollector struct{ st *store.Store }

var (
	outboxDesc = prometheus.NewDesc("karkas_outbox_deliveries", "Deliveries in the outbox, by state and sink.", []string{"state", "sink"}, nil)
	clocksDesc = prometheus.NewDesc("karkas_sla_clocks", "SLA clocks, by state and policy.", []string{"state", "policy"}, nil)
	jobsDesc   = prometheus.NewDesc("karkas_jobs", "The daemon's River jobs, by state and kind: available and scheduled ones are the queue's depth; discarded ones kept failing.", []string{"state", "kind"}, nil)
	scrapeDesc = prometheus.NewDesc("karkas_store_scrape_errors", "1 when the store could not be read for this scrape.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- clocksDesc
	ch <- jobsDesc
	ch <- scrapeDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0.0
	if counts, err := c.st.OutboxCounts(ctx); err == nil {
		by := map[[2]string]int{}
		for _, r := range counts {
			by[[2]string{r.Status, r.Sink}] += r.Rows
		}
		for k, n := range by {
			ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
		}
	} else {
		failed = 1
	}
	if counts, err := c.st.ClockCounts(ctx); err == nil {
		by := map[[2]string]int{}
		for _, r := range counts {
			by[[2]string{r.State, r.Policy}] += r.Clocks
		}
		for k, n := range by {
			ch <- prometheus.MustNewConstMetric(clocksDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
		}
	} else {
		failed = 1
	}
	if counts, err := c.st.JobCounts(ctx); err == nil {
		for _, r := range counts {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(r.Rows), r.State, r.Kind)
		}
	} else {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, failed)
}
