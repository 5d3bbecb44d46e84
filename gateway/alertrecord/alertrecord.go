// Package alertrecord keeps the record of alert changes outside the alert store: it
// listens to the store's change feed and writes each change to InfluxDB's alert
// measurement (through the durable spool, so the dashboards see open alerts and time
// to acknowledge) and counts it in metrics. Being a feed subscriber, it cannot miss a
// write: grouped and cancelled alerts are recorded like the rest.
package alertrecord

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting"
	"carebed/gateway/points"
)

// Spool takes records durably without waiting for the disk; *spool.Spool is one.
// Record runs inside the alert store's commit (the feed publishes under its lock): a
// wait for the spool's fsync there held up every store write, the ladder's claim of
// each step and so each page (SOS to SMS grew with spool.sync_interval).
type Spool interface {
	AppendAsync(recs [][]byte, done func(error)) error
}

// People finds the role of whoever took an alert; alerting.Directory is one.
type People interface {
	Person(ctx context.Context, id string) (alerting.Person, bool, error)
}

// Options configure a Recorder.
type Options struct {
	Spool      Spool
	People     People
	Counts     Counts // for the carebed_alerts_open gauge
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Counts counts the open alerts; the alert store's alerting.Reader is one.
type Counts interface {
	OpenCounts(ctx context.Context) ([]alerting.OpenCount, error)
}

// Recorder is a subscriber of the alert store's feed.
type Recorder struct {
	o       Options
	opened  *prometheus.CounterVec
	changes *prometheus.CounterVec
}

// New registers the metrics and returns the recorder; pass its Record to the
// store's Subscribe.
func New(o Options) *Recorder {
	r := &Recorder{o: o,
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_alerts_opened_total", Help: "Alerts opened, by kind and severity.",
		}, []string{"kind", "severity"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_alert_changes_total", Help: "Alert state changes (raised, cancelled, notified, acknowledged, handed_over, resolved, grouped).",
		}, []string{"change"}),
	}
	o.Registerer.MustRegister(r.opened, r.changes, openAlerts{o.Counts})
	return r
}

// change is the alert measurement's change tag for a feed change; "" for the
// changes it does not record (notification attempts and receipts: those are in the
// store's audit trail and the escalation metrics).
func change(k alerting.ChangeKind) string {
	switch k {
	case alerting.ChangeAttempt, alerting.ChangeDelivery:
		return ""
	case alerting.ChangeHeld: // a new alert all the same: the boards count raised ones
		return string(alerting.ChangeRaised)
	}
	return string(k)
}

// Record writes one change to the spool and counts it.
func (r *Recorder) Record(c alerting.Change) {
	name := change(c.What)
	if name == "" {
		return
	}
	a := c.Alert
	if name == string(alerting.ChangeRaised) {
		r.opened.WithLabelValues(string(a.Kind), string(a.Sev)).Inc()
	}
	r.changes.WithLabelValues(name).Inc()
	p := points.AlertPoint{County: a.Place.County, Township: a.Place.Township, Village: a.Place.Village,
		Home: a.Place.Home, Device: a.Device, Kind: string(a.Kind), Severity: string(a.Sev), ID: a.ID,
		Code: a.Code, State: string(a.State), Change: name, Outcome: string(a.Outcome), At: c.At,
		OpenedAt: a.OpenedAt, AckRole: r.ackRole(a.AckedBy)}
	if c.What == alerting.ChangeAcknowledged && !a.AckedAt.IsZero() {
		p.AckSeconds = a.AckedAt.Sub(a.OpenedAt).Seconds()
	}
	if !a.ResolvedAt.IsZero() {
		p.OpenSeconds = a.ResolvedAt.Sub(a.OpenedAt).Seconds()
	}
	rec := points.AppendRecordHeader(nil, "alert")
	failed := func(err error) {
		if err != nil {
			r.o.Logger.Error("writing an alert change for InfluxDB", "alert", a.Code, "change", name, "err", err)
		}
	}
	failed(r.o.Spool.AppendAsync([][]byte{points.AppendAlert(rec, p)}, failed))
}

// ackRole is the role of the person with id by, for the alert measurement (never a
// name or phone): "" when nobody took the alert, "other" for people without one of
// the ladder's roles (named people of the policy, duty staff using the console).
func (r *Recorder) ackRole(by string) string {
	if by == "" {
		return ""
	}
	p, ok, err := r.o.People.Person(context.Background(), by)
	if err != nil || !ok {
		return "other"
	}
	switch p.Role {
	case alerting.ReceiverFamily, alerting.ReceiverVillageVisitor, alerting.ReceiverVillageDoctor,
		alerting.ReceiverTownshipClinic, alerting.ReceiverCountyCentre:
		return string(p.Role)
	}
	return "other"
}

// openAlerts is the carebed_alerts_open gauge, counted in the store at each scrape.
type openAlerts struct{ st Counts }

var openDesc = prometheus.NewDesc("carebed_alerts_open", "Alerts not yet resolved, by township and severity.",
	[]string{"township", "severity"}, nil)

// Describe sends the gauge's description.
func (o openAlerts) Describe(ch chan<- *prometheus.Desc) { ch <- openDesc }

// Collect counts the open alerts.
func (o openAlerts) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := o.st.OpenCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(openDesc, err)
		return
	}
	for _, c := range counts {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(c.N), c.Township, string(c.Severity))
	}
}
