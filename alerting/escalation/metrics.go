package escalation

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting"
)

// Metrics are the escalation's Prometheus collectors.
type Metrics struct {
	attempts      *prometheus.CounterVec
	eventToNotify *prometheus.HistogramVec
	timeToAck     *prometheus.HistogramVec
	overLimit     prometheus.Counter
	emptySteps    *prometheus.CounterVec
	inflight      *prometheus.CounterVec
}

// NewMetrics registers the escalation metrics with reg (nil: a private registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_notification_attempts_total",
			Help: "Notifications by channel and result (sent, failed, skipped; delivered, undelivered from receipts).",
		}, []string{"channel", "result"}),
		eventToNotify: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "carebed_alert_event_to_notification_seconds",
			Help:    "Time from the device event to the alert's first page sent, by channel.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"channel"}),
		timeToAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "carebed_alert_time_to_ack_seconds",
			Help:    "Time from an alert opening to its acknowledgement, by severity.",
			Buckets: []float64{30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200},
		}, []string{"severity"}),
		overLimit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebed_notifications_over_limit_total",
			Help: "Critical pages sent although over the per-person rate limit or the daily SMS budget.",
		}),
		emptySteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_escalation_empty_steps_total",
			Help: "Escalation steps that paged nobody for an alert's home (the nearest earlier step's people were paged again), by severity and ladder step.",
		}, []string{"severity", "step"}),
		inflight: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_notification_inflight_checks_total",
			Help: "Notifications in flight at a crash, after the restart, by channel and what was done: found (the provider had it: not sent again), not_found (sent again), error (the provider could not be asked: sent again), resent_unchecked (a channel that cannot be asked: sent again).",
		}, []string{"channel", "result"}),
	}
	// Start every channel's results at 0, so that rate() and increase() see the first
	// failure after a restart (a series born at 1 has no increase to show).
	for _, ch := range []string{"sms", "push", "webhook"} {
		for _, res := range []string{"sent", "failed", "skipped", "delivered", "undelivered"} {
			m.attempts.WithLabelValues(ch, res)
		}
	}
	reg.MustRegister(m.attempts, m.eventToNotify, m.timeToAck, m.overLimit, m.emptySteps, m.inflight)
	return m
}

// startEmptySteps starts the empty-step counts of every step of the global ladders
// at 0, so that increase() sees the first one.
func (m *Metrics) startEmptySteps(p Policy) {
	for _, sev := range []alerting.Severity{alerting.Critical, alerting.High, alerting.Warning} {
		for i := range p.Ladder("", sev).Steps {
			m.emptySteps.WithLabelValues(string(sev), strconv.Itoa(i))
		}
	}
}
