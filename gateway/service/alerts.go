package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/api"
	"carebed/alerting/escalation"
	"carebed/alerting/notify"
	"carebed/alerting/notify/mqttpush"
	"carebed/alerting/notify/outbox"
	"carebed/alerting/notify/twilio"
	"carebed/alerting/notify/webhook"
	"carebed/alerting/policy"
	apostgres "carebed/alerting/postgres"
	"carebed/alerting/rules"
	asqlite "carebed/alerting/sqlite"
	"carebed/gateway/alertrecord"
	"carebed/gateway/auth"
	"carebed/gateway/config"
	"carebed/gateway/console"
	"carebed/gateway/directory"
	"carebed/gateway/influxread"
	"carebed/gateway/ingest"
	"carebed/gateway/outbound"
	"carebed/gateway/position"
	"carebed/gateway/registry"
	"carebed/gateway/smssos"
)

// buildAlerting opens the alert store and wires the rules, the escalation runner,
// the notifiers and the alert API.
func (g *Gateway) buildAlerting() error {
	pol, err := g.policy()
	if err != nil {
		return err
	}
	st, err := g.openAlertStore()
	if err != nil {
		return err
	}
	g.alerts = st
	g.closers = append(g.closers, st.Close)
	dir := directory.New(g.reg, pol)
	g.out = outbound.New(outbound.PublisherFunc(g.publish))
	rec := alertrecord.New(alertrecord.Options{Spool: g.spool, People: dir, Counts: st,
		Registerer: g.o.Registry, Logger: g.log})
	st.Subscribe(rec.Record)
	sms, err := g.smsNotifier()
	if err != nil {
		return err
	}
	push, err := mqttpush.New(mqttpush.Options{Publisher: g.out, Now: g.now})
	if err != nil {
		return err
	}
	links, err := g.links(st)
	if err != nil {
		return err
	}
	notifiers := map[string]notify.Notifier{policy.ChannelSMS: sms, policy.ChannelPush: push}
	if wc := g.cfg.Webhook; wc.URL != "" {
		wh, err := webhook.New(webhook.Options{URL: wc.URL, Secret: wc.Secret, Now: g.now})
		if err != nil {
			return fmt.Errorf("config: webhook: %w", err)
		}
		notifiers[policy.ChannelWebhook] = wh
	}
	g.guardNotifiers(notifiers)
	var linkFor func(context.Context, alerting.Alert, alerting.Person) (string, error)
	if links != nil {
		linkFor = links.Make
	}
	g.runner = escalation.New(escalation.Options{Store: st, Policy: pol, Directory: dir,
		Notifiers: notifiers, Link: linkFor, Where: g.whereIs, Nearby: &directory.Nearby{Dir: dir, Near: g.nearby},
		Feedback: g.out.Feedback, Metrics: escalation.NewMetrics(g.o.Registry), Logger: g.log, Now: g.now,
		Location: pol.Location()})
	g.rules = rules.New(rules.Options{Store: st, Logger: g.log, Raised: func(alerting.Alert) { g.runner.Wake() },
		NoHeartbeat: g.devices.SMSOnly,
		CancelledAfterPaging: func(a alerting.Alert, at time.Time) {
			if err := g.runner.DeviceCancelled(context.Background(), a, at); err != nil {
				g.log.Error("telling those paged of a device cancel", "alert", a.Code, "err", err)
			}
		},
		Thresholds: mobileThresholds(rules.PolicyThresholds(pol), g.devices.Mobile, g.cfg.Registry.MobileOfflineHeartbeats)})
	if err := g.restoreConditions(st); err != nil {
		return err
	}
	proxies, err := g.cfg.HTTP.Proxies()
	if err != nil {
		return fmt.Errorf("config: http.trusted_proxies: %w", err)
	}
	g.auth = auth.New(auth.Options{Store: g.reg, SessionTTL: g.cfg.HTTP.SessionTTL, Registerer: g.o.Registry,
		Logger: g.log, Now: g.now, TrustedProxies: proxies})
	if err := g.buildVisits(pol, notifiers[policy.ChannelSMS], st); err != nil { // guarded in a pair
		return err
	}
	if err := g.buildDigest(pol, sms, st); err != nil {
		return err
	}
	g.alertAPI = api.New(api.Options{Store: st, Escalation: g.runner, Directory: dir, Auth: g.auth, Users: g.auth,
		TwilioToken: g.cfg.Twilio.AuthToken, PublicURL: g.cfg.Twilio.PublicURL, Registerer: g.o.Registry,
		Inbound: g.inbound(), Logger: g.log, Now: g.now})
	return g.buildConsole(dir, links, pol)
}

// nearby lists the responders near a device far from its home (positions).
func (g *Gateway) nearby(ctx context.Context, device string, beyond float64) ([]position.Near, error) {
	return g.positions.Nearby(ctx, g.reg, g.places.Load(), device, beyond, g.now())
}

// refreshPlaces takes the responders' places for nearby from the registry's devices
// and contacts; on an error the places taken before stay, and it reports false.
func (g *Gateway) refreshPlaces(ctx context.Context, devs []registry.Device) bool {
	contacts, err := g.reg.AllContacts(ctx)
	if err != nil {
		g.log.Warn("reading the registry's contacts for the responders near a device far from home; keeping those read before", "err", err)
		return false
	}
	g.places.Store(position.NewPlaces(devs, contacts))
	return true
}

// alertStoreOpenTimeout bounds connecting to PostgreSQL and migrating its schema at
// start: a database that does not answer stops the start with an error (systemd
// restarts the gateway) rather than hanging it.
const alertStoreOpenTimeout = time.Minute

// openAlertStore opens the alert store the configuration chooses: PostgreSQL when
// database.url is set, else SQLite in the data folder.
func (g *Gateway) openAlertStore() (alerting.Store, error) {
	if !g.cfg.Database.Postgres() {
		return asqlite.Open(g.cfg.AlertsPath())
	}
	ctx, cancel := context.WithTimeout(context.Background(), alertStoreOpenTimeout)
	defer cancel()
	if err := g.openPair(ctx); err != nil {
		return nil, err
	}
	var o apostgres.Options
	if g.pair != nil {
		o.Fence = g.pair.fence
	}
	st, err := apostgres.Open(ctx, g.cfg.Database.URL, o)
	if err != nil {
		return nil, fmt.Errorf("database.url: %w", err)
	}
	g.log.Info("alert store, registry, users, sessions and visits on PostgreSQL")
	return st, nil
}

// whereIs says where an alert's device is when away from home, for its pages.
func (g *Gateway) whereIs(ctx context.Context, a alerting.Alert) string {
	return g.positions.Where(ctx, g.reg, a.Device, g.now())
}

// links makes the one-tap link maker when http.public_url is set (nil otherwise),
// with its key kept in the data folder so links survive restarts.
func (g *Gateway) links(st alerting.Store) (*console.Links, error) {
	if g.cfg.HTTP.PublicURL == "" {
		return nil, nil
	}
	key, err := g.linkKey()
	if err != nil {
		return nil, err
	}
	return console.NewLinks(key, st, strings.TrimRight(g.cfg.HTTP.PublicURL, "/"), g.cfg.HTTP.LinkTTL, g.now)
}

// linkKey is the one-tap links' key: in the data folder, or in PostgreSQL for a pair
// (a link the old active sent works on the new one).
func (g *Gateway) linkKey() ([]byte, error) {
	if g.pair == nil {
		return console.LoadKey(filepath.Join(g.cfg.DataDir, "link.key"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), alertStoreOpenTimeout)
	defer cancel()
	key, err := g.pair.lease.SharedKey(ctx, "link")
	if err != nil {
		return nil, fmt.Errorf("database.url: %w", err)
	}
	return key, nil
}

// buildConsole makes the duty console, fed with every alert change.
func (g *Gateway) buildConsole(dir *directory.Directory, links *console.Links, pol policy.Policy) error {
	ic := g.cfg.Influx
	c, err := console.New(console.Options{API: g.alertAPI, Auth: g.auth, Directory: dir, Escalation: g.runner,
		Homes: g.reg, Users: g.reg, Readings: influxread.New(ic.URL, ic.Bucket, ic.Token), Links: links,
		Paging: g.alerts, Ladders: pol, Where: g.whereIs, Logger: g.log, Now: g.now, Location: pol.Location()})
	if err != nil {
		return err
	}
	g.alerts.Subscribe(c.AlertChanged)
	g.console = c
	if g.visitsPage, err = console.NewVisitsPage(c, g.visits); err != nil {
		return err
	}
	return g.buildInspectPage(c)
}

// policy parses the alerting section of the configuration.
func (g *Gateway) policy() (policy.Policy, error) {
	pol := policy.Default()
	if g.cfg.Alerting.Kind != 0 {
		var err error
		if pol, err = policy.ParseNode(&g.cfg.Alerting); err != nil {
			return pol, fmt.Errorf("config: %w", err)
		}
	}
	loc, err := config.Location(g.cfg.TimeZone)
	if err != nil {
		return pol, fmt.Errorf("config: time_zone: %w", err)
	}
	return pol.WithLocation(loc), nil
}

// smsNotifier is Twilio when it is configured, else the local outbox.
func (g *Gateway) smsNotifier() (notify.Notifier, error) {
	tc := g.cfg.Twilio
	if !tc.SMSEnabled() {
		ob, err := outbox.New(outbox.Options{Path: g.cfg.OutboxPath(), Logger: g.log, Now: g.now})
		if err != nil {
			return nil, err
		}
		g.closers = append(g.closers, ob.Close)
		g.log.Info("no Twilio credentials: SMS go to the outbox file", "path", g.cfg.OutboxPath())
		return ob, nil
	}
	o := twilio.Options{AccountSID: tc.AccountSID, AuthToken: tc.AuthToken, From: tc.From, BaseURL: tc.BaseURL}
	if tc.PublicURL != "" {
		o.StatusCallbackURL = tc.PublicURL + "/webhooks/twilio/status"
	}
	nf, err := twilio.New(o)
	if err != nil {
		return nil, fmt.Errorf("config: twilio: %w", err)
	}
	return nf, nil
}

// publish sends a message from the gateway (a cmd to a device, a push to a responder)
// through the embedded broker or the MQTT session, QoS 1: the broker is built after
// the alerting that publishes through it.
func (g *Gateway) publish(topic string, payload []byte) error {
	if g.broker != nil {
		return g.broker.Publish(topic, payload, 1)
	}
	return g.session.Publish(topic, payload)
}

// restoreConditions loads the rules' per-device state saved by the previous run, for
// the devices still registered.
func (g *Gateway) restoreConditions(st alerting.Store) error {
	registered := func(device string) bool { _, ok := g.devices.Lookup(device); return ok }
	n, err := g.rules.Restore(context.Background(), st, g.now(), registered)
	if err != nil {
		return fmt.Errorf("alert store: %w", err)
	}
	if n > 0 {
		g.log.Info("alert conditions restored", "devices", n)
	}
	return nil
}

// inbound is the chain of handlers an SMS that is not a reply to an alert goes
// through, in order: the first that takes it answers it.
func (g *Gateway) inbound() api.Chain {
	sos := smssos.New(smssos.Options{Phones: g.reg, Intake: offer(func(ctx context.Context, m ingest.Message) error {
		return g.handler.Offer(ctx, m) // built after the alerting, before HTTP listens
	}), Registerer: g.o.Registry, Logger: g.log, Now: g.now})
	chain := api.Chain{sos, g.visits}
	if g.digest != nil { // a nil *digest.Service in the chain would not be skipped
		chain = append(chain, g.digest)
	}
	return chain
}

// offer is a func as a smssos.Intake.
type offer func(ctx context.Context, m ingest.Message) error

func (f offer) Offer(ctx context.Context, m ingest.Message) error { return f(ctx, m) }
