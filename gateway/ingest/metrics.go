package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/protocol"
)

// Metrics are the ingest's Prometheus collectors.
type Metrics struct {
	messages     *prometheus.CounterVec
	rejects      *prometheus.CounterVec
	late         *prometheus.CounterVec
	latency      prometheus.Histogram
	appendErrors prometheus.Counter
	queue        prometheus.Gauge
	seqResets    prometheus.Counter
	invalidTS    *prometheus.CounterVec
	unknown      *prometheus.CounterVec
	fixDropped   *prometheus.CounterVec
	fieldLabels  fieldLabels
}

// Extra reject reasons decided by the ingest rather than the protocol decoder.
const (
	ReasonUnknownDevice protocol.Reason = "unknown_device"
)

// NewMetrics registers the ingest metrics with reg (nil: a private registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_ingest_messages_total",
			Help: "Device messages taken in, by topic kind and result (stored, duplicate, rejected).",
		}, []string{"kind", "result"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_ingest_rejects_total",
			Help: "Device messages rejected, by reason; each is in the dead-letter log.",
		}, []string{"reason"}),
		late: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_ingest_late_total",
			Help: "Readings and events whose device timestamp was older than ingest.late_after on arrival.",
		}, []string{"kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "carebed_ingest_latency_seconds",
			Help:    "Time from receiving a message to its durable hand-off (when it may be acknowledged).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebed_ingest_spool_append_errors_total",
			Help: "Failed hand-offs to the spool (full or failing disk); the messages wait, unacknowledged.",
		}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carebed_ingest_queue_depth",
			Help: "Messages received from the broker and waiting for a worker.",
		}),
		seqResets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebed_ingest_seq_resets_total",
			Help: "Seqs more than 2^32 from their device's last one, which reset its duplicate filter (the message is still taken).",
		}),
		invalidTS: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_ingest_invalid_ts_total",
			Help: "Readings and events whose ts lies past 2262-04-11 (InfluxDB's end of time): stored at their arrival, flagged ts_invalid.",
		}, []string{"kind"}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_ingest_unknown_fields_total",
			Help: "Fields protocol v1 does not define, in alarm events that were accepted anyway (each message is in the dead-letter log as a warning), by field name (\"other\" beyond a few short plain names).",
		}, []string{"field"}),
	}
	m.fixDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebed_ingest_fix_dropped_total",
		Help: "Positions (lat, lon, acc_m, fix_ts) dropped from accepted messages, by problem; the message itself was taken.",
	}, []string{"reason"})
	for _, p := range protocol.AllFixProblems() {
		m.fixDropped.WithLabelValues(string(p))
	}
	reg.MustRegister(m.fixDropped, m.unknown, m.messages, m.invalidTS, m.rejects, m.late, m.latency, m.appendErrors, m.queue, m.seqResets)
	for _, r := range append(protocol.AllReasons(), ReasonUnknownDevice, ReasonRateLimited) {
		m.rejects.WithLabelValues(string(r)) // every reason shows from the start, at 0
	}
	// So do the messages: an alert on no messages at all (rate == 0) needs a series
	// even when none has come since the start.
	for _, k := range []protocol.Kind{protocol.KindTelemetry, protocol.KindEvent, protocol.KindStatus} {
		for _, r := range results {
			m.messages.WithLabelValues(string(k), r)
		}
	}
	return m
}
