package service

import (
	"context"
	"fmt"
	"path/filepath"

	"carebed/alerting"
	"carebed/alerting/notify"
	"carebed/alerting/policy"
	"carebed/gateway/digest"
	"carebed/gateway/influxread"
)

// buildDigest opens the weekly family digest (unless digest.enabled is false): its
// own database in the data folder, the bed sensors' data in InfluxDB, the visits, the
// alert store, the alerts' SMS channel.
func (g *Gateway) buildDigest(pol policy.Policy, sms notify.Notifier, st alerting.Store) error {
	dc := g.cfg.Digest
	if !dc.Enabled {
		return nil
	}
	day, err := dc.Day()
	if err != nil {
		return fmt.Errorf("config: digest.weekday: %w", err)
	}
	at, err := dc.Time()
	if err != nil {
		return fmt.Errorf("config: digest.at: %w", err)
	}
	ic := g.cfg.Influx
	d, err := digest.New(digest.Options{Path: filepath.Join(g.cfg.DataDir, digest.FileName),
		DatabaseURL: g.cfg.Database.URL, Homes: g.reg,
		Sleep: digest.InfluxSleep{Q: influxread.New(ic.URL, ic.Bucket, ic.Token)}, Visits: g.visits, Alerts: st,
		Policy: pol, SMS: digestSMS{sms}, Schedule: digest.Schedule{Weekday: day, At: at}, Signature: dc.Signature,
		Location: pol.Location(), Registerer: g.o.Registry, Logger: g.log, Now: g.now})
	if err != nil {
		return err
	}
	g.digest = d
	g.closers = append(g.closers, d.Close)
	return nil
}

// digestSMS sends the digests through the alerts' SMS notifier (Twilio or the
// outbox); the digest counts them (carebed_digest_sms_total).
type digestSMS struct{ n notify.Notifier }

func (s digestSMS) Send(ctx context.Context, purpose, to, text string) (bool, error) {
	_, retry, err := s.n.Notify(ctx, notify.Notification{Purpose: notify.Purpose(purpose),
		To: alerting.Person{ID: "digest", Phone: to}, Text: text})
	return retry, err
}
