package service

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting"
	asqlite "carebed/alerting/sqlite"
	"carebed/gateway/points"
)

// alertLog is the alert store with every state change also written to InfluxDB (the
// alert measurement, through the durable spool, so the dashboards see open alerts
// and time to acknowledge) and counted in metrics.
type alertLog struct {
	*asqlite.Store
	spool   interface{ Append(recs [][]byte) error }
	opened  *prometheus.CounterVec
	changes *prometheus.CounterVec
	now     func() time.Time
	log     func(msg string, args ...any)
	// people finds the role of whoever acknowledged an alert (home contacts).
	people interface {
		Person(ctx context.Context, id string) (alerting.Person, bool, error)
	}
	// onChange, if set, hears of every change (the duty console's live pages).
	onChange func(a alerting.Alert, change string)
}

func newAlertLog(st *asqlite.Store, g *Gateway) *alertLog {
	l := &alertLog{Store: st, spool: g.spool, now: g.now, log: g.log.Error, people: &directory{reg: g.reg},
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_alerts_opened_total", Help: "Alerts opened, by kind and severity.",
		}, []string{"kind", "severity"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_alert_changes_total", Help: "Alert state changes (raised, cancelled, notified, acknowledged, resolved, grouped).",
		}, []string{"change"}),
	}
	g.o.Registry.MustRegister(l.opened, l.changes, openAlerts{l.Store})
	return l
}

// openAlerts is the carebed_alerts_open gauge, counted in the store at each scrape.
type openAlerts struct{ st *asqlite.Store }

var openDesc = prometheus.NewDesc("carebed_alerts_open", "Alerts not yet resolved, by township and severity.",
	[]string{"township", "severity"}, nil)

// Describe sends the gauge's description.
func (o openAlerts) Describe(ch chan<- *prometheus.Desc) { ch <- openDesc }

// Collect counts the open alerts.
func (o openAlerts) Collect(ch chan<- prometheus.Metric) {
	counts, err := o.st.OpenCounts(context.Background())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(openDesc, err)
		return
	}
	for _, c := range counts {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(c.N), c.Township, string(c.Severity))
	}
}

// record writes one state change of a to the spool.
func (l *alertLog) record(a alerting.Alert, change string) {
	l.changes.WithLabelValues(change).Inc()
	if l.onChange != nil {
		l.onChange(a, change)
	}
	p := points.AlertPoint{County: a.Place.County, Township: a.Place.Township, Village: a.Place.Village,
		Home: a.Place.Home, Device: a.Device, Kind: string(a.Kind), Severity: string(a.Sev), ID: a.ID,
		Code: a.Code, State: string(a.State), Change: change, Outcome: string(a.Outcome), At: l.now(),
		OpenedAt: a.OpenedAt, AckRole: l.ackRole(a.AckedBy)}
	if !a.AckedAt.IsZero() && change == "acknowledged" {
		p.AckSeconds = a.AckedAt.Sub(a.OpenedAt).Seconds()
	}
	if !a.ResolvedAt.IsZero() {
		p.OpenSeconds = a.ResolvedAt.Sub(a.OpenedAt).Seconds()
	}
	rec := points.AppendRecordHeader(nil, "alert")
	if err := l.spool.Append([][]byte{points.AppendAlert(rec, p)}); err != nil {
		l.log("writing an alert change for InfluxDB", "alert", a.Code, "err", err)
	}
}

// ackRole is the role of the person with id by, for the alert measurement (never a
// name or phone): "" when nobody acknowledged, "other" for people without a role
// (named people of the policy, duty staff acknowledging through the API).
func (l *alertLog) ackRole(by string) string {
	kind, _, _ := strings.Cut(by, "/")
	switch kind {
	case "":
		return ""
	case "clinic":
		return string(alerting.ReceiverTownshipClinic)
	case "county":
		return string(alerting.ReceiverCountyCentre)
	case "home":
		if p, ok, err := l.people.Person(context.Background(), by); err == nil && ok {
			return string(p.Role)
		}
	}
	return "other"
}

// Raise opens or repeats an alert and records a new one.
func (l *alertLog) Raise(ctx context.Context, r alerting.Raise) (alerting.Alert, bool, error) {
	a, created, err := l.Store.Raise(ctx, r)
	if err == nil && created {
		l.opened.WithLabelValues(string(a.Kind), string(a.Sev)).Inc()
		l.record(a, "raised")
	}
	return a, created, err
}

// CancelPending closes a held alert and records it.
func (l *alertLog) CancelPending(ctx context.Context, home string, kind alerting.Kind, now time.Time, device, detail string) (bool, error) {
	a, _ := l.Store.OpenAlert(ctx, home, kind)
	ok, err := l.Store.CancelPending(ctx, home, kind, now, device, detail)
	if err == nil && ok {
		a, _ = l.Store.Alert(ctx, a.ID)
		l.record(a, "cancelled")
	}
	return ok, err
}

// Ack acknowledges and records.
func (l *alertLog) Ack(ctx context.Context, id int64, by, channel string, now time.Time) (alerting.Alert, error) {
	a, err := l.Store.Ack(ctx, id, by, channel, now)
	if err == nil {
		l.record(a, "acknowledged")
	}
	return a, err
}

// HandOver hands an alert over and records it.
func (l *alertLog) HandOver(ctx context.Context, id int64, by, to, channel string, now time.Time) (alerting.Alert, error) {
	a, err := l.Store.HandOver(ctx, id, by, to, channel, now)
	if err == nil {
		l.record(a, "handed_over")
	}
	return a, err
}

// Resolve resolves and records.
func (l *alertLog) Resolve(ctx context.Context, id int64, by, channel string, outcome alerting.Outcome, note string, now time.Time) (alerting.Alert, error) {
	a, err := l.Store.Resolve(ctx, id, by, channel, outcome, note, now)
	if err == nil {
		l.record(a, "resolved")
	}
	return a, err
}

// FinishAttempt records a notification result; the first page sent is "notified".
func (l *alertLog) FinishAttempt(ctx context.Context, at alerting.Attempt, now time.Time) (bool, error) {
	notified, err := l.Store.FinishAttempt(ctx, at, now)
	if notified {
		if a, aerr := l.Store.Alert(ctx, at.AlertID); aerr == nil {
			l.record(a, "notified")
		}
	}
	return notified, err
}
