package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
	"carebed/gateway/influxread"
	"carebed/gateway/ingest"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
	"carebed/gateway/visits"
)

// buildVisits opens the visits service (探访关爱, 巡诊): its own database in the data
// folder (in PostgreSQL when database.url is set), the policy's schedule, the SMS
// channel of the alerts for its lists, the alert store for the homes that move up.
func (g *Gateway) buildVisits(pol policy.Policy, sms notify.Notifier, st alerting.Store) error {
	ic := g.cfg.Influx
	var linkBase string
	if u := strings.TrimRight(g.cfg.HTTP.PublicURL, "/"); u != "" {
		linkBase = u + "/v/"
	}
	v, err := visits.New(visits.Options{Path: filepath.Join(g.cfg.DataDir, "visits.db"),
		DatabaseURL: g.cfg.Database.URL, Homes: g.reg,
		Schedule: pol.Visits(), Location: pol.Location(), SMS: visitSMS{sms}, Alerts: recentAlerts{st},
		Spool: g.spool, LinkBase: linkBase, Registerer: g.o.Registry, Logger: g.log, Now: g.now,
		History: visits.InfluxHistory{Q: influxread.New(ic.URL, ic.Bucket, ic.Token)}})
	if err != nil {
		if g.cfg.Database.Postgres() {
			return fmt.Errorf("database.url: %w", err)
		}
		return err
	}
	g.visits = v
	g.closers = append(g.closers, v.Close)
	return nil
}

// visitSMS sends the visits lists through the alerts' SMS notifier (Twilio or the
// outbox).
type visitSMS struct{ n notify.Notifier }

func (s visitSMS) Send(ctx context.Context, purpose, to, text string) (bool, error) {
	_, retry, err := s.n.Notify(ctx, notify.Notification{Purpose: notify.Purpose("visits_" + purpose),
		To: alerting.Person{ID: "visits:" + purpose, Phone: to}, Text: text})
	return retry, err
}

// recentAlerts reads the homes with alerts raised since a time from the alert store.
type recentAlerts struct{ st alerting.Reader }

// maxRecentAlerts bounds the alerts read for the morning lists.
const maxRecentAlerts = 5000

func (r recentAlerts) AlertHomes(ctx context.Context, since time.Time) (map[string]bool, error) {
	as, err := r.st.List(ctx, alerting.Filter{Limit: maxRecentAlerts})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range as {
		if a.OpenedAt.Before(since) {
			break // newest first
		}
		out[a.Place.Home] = true
	}
	return out, nil
}

// observers hands each accepted message to every observer in turn (the alert rules,
// then the visits).
type observers []ingest.Observer

func (os observers) Observe(ctx context.Context, m protocol.Message, t points.Tags, s points.Stamp) error {
	for _, o := range os {
		if err := o.Observe(ctx, m, t, s); err != nil {
			return err
		}
	}
	return nil
}
