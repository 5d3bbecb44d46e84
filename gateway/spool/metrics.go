package spool

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the spool's Prometheus collectors. They exist even without a
// Registerer, so the hot path never checks for nil.
type metrics struct {
	appends       prometheus.Counter
	appendRecords prometheus.Counter
	fsyncs        prometheus.Counter
	fsyncSeconds  prometheus.Histogram
	full          prometheus.Counter
	corrupt       prometheus.Counter
	all           []prometheus.Collector
	reg           prometheus.Registerer
}

// newMetrics creates the collectors; the depth gauges read s.Stats at scrape time.
func newMetrics(s *Spool) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "carebed_spool_" + name, Help: help})
	}
	gauge := func(name, help string, f func(Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carebed_spool_" + name, Help: help},
			func() float64 { return f(s.Stats()) })
	}
	m := &metrics{
		appends:       counter("appends_total", "Append calls that made their records durable."),
		appendRecords: counter("append_records_total", "Records made durable by Append."),
		fsyncs:        counter("fsyncs_total", "Group commits written (fsyncs unless NoSync)."),
		full:          counter("full_total", "Append calls rejected with ErrFull."),
		corrupt:       counter("corrupt_total", "Corrupt or torn frames found and skipped or truncated."),
		fsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "carebed_spool_fsync_seconds",
			Help:    "Duration of the fsync of a group commit.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 15),
		}),
	}
	m.all = []prometheus.Collector{m.appends, m.appendRecords, m.fsyncs, m.fsyncSeconds, m.full, m.corrupt,
		gauge("depth_records", "Unshipped records.", func(st Stats) float64 { return float64(st.Records) }),
		gauge("depth_bytes", "Unshipped bytes on disk, frame headers included.",
			func(st Stats) float64 { return float64(st.Bytes) }),
		gauge("oldest_age_seconds", "Age of the oldest unshipped record; 0 when empty.", func(st Stats) float64 {
			if st.Oldest.IsZero() {
				return 0
			}
			return s.opt.Now().Sub(st.Oldest).Seconds()
		}),
	}
	return m
}

// register registers every collector with reg, or none of them.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for i, c := range m.all {
		if err := reg.Register(c); err != nil {
			for _, done := range m.all[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("spool: register metrics: %w", err)
		}
	}
	m.reg = reg
	return nil
}

// unregister removes the collectors from the Registerer given to register.
func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.all {
		m.reg.Unregister(c)
	}
	m.reg = nil
}
