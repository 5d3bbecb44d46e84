package api

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting"
)

// refusals counts the actions on alerts that were refused, by channel (api,
// console, mqtt, sms, link), action and reason (role: alerting.Permit; not_paged:
// the person was not paged about the alert).
func newRefusals(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_alert_actions_refused_total",
		Help: "Actions on alerts refused, by channel, action and reason (role, not_paged)."},
		[]string{"channel", "action", "reason"})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

// Refuse records that by may not do act to al through channel: a row in the alert's
// audit trail (with the reason), a count in carebed_alert_actions_refused_total and
// a log line. Every channel calls it for what it refuses.
func (a *API) Refuse(ctx context.Context, al alerting.Alert, by, channel string, act alerting.Action, why error) {
	reason := "role"
	if errors.Is(why, errNotPaged) {
		reason = "not_paged"
	}
	a.refusals.WithLabelValues(channel, string(act), reason).Inc()
	a.log.Warn("action on an alert refused", "alert", al.Code, "by", by, "channel", channel, "action", act, "err", why)
	if al.ID == 0 {
		return
	}
	err := a.o.Store.RefuseAck(ctx, al.ID, by, channel, string(act)+": "+why.Error(), a.o.Now())
	if err != nil {
		a.log.Error("recording a refused action", "alert", al.Code, "err", err)
	}
}
