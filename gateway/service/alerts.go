package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
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
	"carebed/alerting/rules"
	asqlite "carebed/alerting/sqlite"
	"carebed/gateway/auth"
	"carebed/gateway/config"
	"carebed/gateway/console"
	"carebed/gateway/influxread"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// buildAlerting opens the alert store and wires the rules, the escalation runner,
// the notifiers and the alert API.
func (g *Gateway) buildAlerting() error {
	pol, err := g.policy()
	if err != nil {
		return err
	}
	st, err := asqlite.Open(g.cfg.AlertsPath())
	if err != nil {
		return err
	}
	g.alerts = st
	g.closers = append(g.closers, st.Close)
	logged := newAlertLog(st, g)
	dir := &directory{reg: g.reg, policy: pol}
	sms, err := g.smsNotifier()
	if err != nil {
		return err
	}
	push, err := mqttpush.New(mqttpush.Options{Publisher: g, Now: g.now})
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
	var linkFor func(context.Context, alerting.Alert, alerting.Person) (string, error)
	if links != nil {
		linkFor = links.Make
	}
	g.runner = escalation.New(escalation.Options{Store: logged, Policy: pol, Directory: dir,
		Notifiers: notifiers, Link: linkFor,
		Feedback: g.feedback, Metrics: escalation.NewMetrics(g.o.Registry), Logger: g.log, Now: g.now,
		Location: pol.Location()})
	g.rules = rules.New(rules.Options{Store: logged, Logger: g.log, Raised: func(alerting.Alert) { g.runner.Wake() },
		Thresholds: thresholds(pol)})
	if err := g.restoreConditions(st); err != nil {
		return err
	}
	proxies, err := g.cfg.HTTP.Proxies()
	if err != nil {
		return fmt.Errorf("config: http.trusted_proxies: %w", err)
	}
	g.auth = auth.New(auth.Options{Store: g.reg, SessionTTL: g.cfg.HTTP.SessionTTL, Registerer: g.o.Registry,
		Logger: g.log, Now: g.now, TrustedProxies: proxies})
	g.alertAPI = api.New(api.Options{Store: logged, Escalation: g.runner, Directory: dir, Auth: g.auth, Users: g.auth,
		TwilioToken: g.cfg.Twilio.AuthToken, PublicURL: g.cfg.Twilio.PublicURL, Registerer: g.o.Registry,
		Logger: g.log, Now: g.now})
	return g.buildConsole(logged, dir, links, pol.Location())
}

// links makes the one-tap link maker when http.public_url is set (nil otherwise),
// with its key kept in the data folder so links survive restarts.
func (g *Gateway) links(st *asqlite.Store) (*console.Links, error) {
	if g.cfg.HTTP.PublicURL == "" {
		return nil, nil
	}
	key, err := console.LoadKey(filepath.Join(g.cfg.DataDir, "link.key"))
	if err != nil {
		return nil, err
	}
	return console.NewLinks(key, st, strings.TrimRight(g.cfg.HTTP.PublicURL, "/"), g.cfg.HTTP.LinkTTL, g.now)
}

// buildConsole makes the duty console, fed with every alert change.
func (g *Gateway) buildConsole(logged *alertLog, dir *directory, links *console.Links, loc *time.Location) error {
	ic := g.cfg.Influx
	c, err := console.New(console.Options{API: g.alertAPI, Auth: g.auth, Directory: dir, Escalation: g.runner,
		Homes: g.reg, Users: g.reg, Readings: influxread.New(ic.URL, ic.Bucket, ic.Token), Links: links,
		Paging: g.alerts, Logger: g.log, Now: g.now, Location: loc})
	if err != nil {
		return err
	}
	logged.onChange = func(a alerting.Alert, change string) {
		c.Hub().Publish(console.Change{AlertID: a.ID, Place: a.Place, What: change})
	}
	g.console = c
	return nil
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

// Publish sends a message from the gateway (a cmd to a device, a push to a responder)
// through the embedded broker or the broker session, QoS 1.
func (g *Gateway) Publish(topic string, payload []byte) error {
	if g.broker != nil {
		return g.broker.Publish(topic, payload, false, 1)
	}
	return g.sub.Publish(topic, payload)
}

// feedback tells the device that raised an alert that someone is coming.
func (g *Gateway) feedback(_ context.Context, a alerting.Alert, by alerting.Person) error {
	cmd := protocol.Cmd{V: 1, Type: protocol.CmdAckFeedback, Alert: a.Code, By: string(by.Role)}
	return g.Publish(protocol.DeviceTopic(a.Device, protocol.KindCmd), cmd.Encode())
}

// observer hands accepted messages to the alerting rules.
type observer struct{ rules *rules.Engine }

// Observe converts a protocol message into an observation and applies the rules.
func (o observer) Observe(ctx context.Context, m protocol.Message, t points.Tags, s points.Stamp) error {
	ob := alerting.Observation{Device: t.Device, Received: s.Received,
		Place: alerting.Place{County: t.County, Township: t.Township, Village: t.Village, Home: t.Home}}
	var ts int64
	switch m.Topic.Kind {
	case protocol.KindEvent:
		e := m.Event
		ob.Seq, ts = e.Seq, e.TS
		ob.Event = &alerting.Event{Type: string(e.Type), Cancels: e.Cancels}
		if e.Confidence != nil {
			ob.Event.Confidence = *e.Confidence
		}
	case protocol.KindStatus:
		ob.Seq, ts = m.Status.Seq, m.Status.TS
		ob.Status = &alerting.Status{Online: m.Status.Online, HeartbeatS: m.Status.HeartbeatS}
	case protocol.KindTelemetry:
		rs := m.Telemetry.Readings
		if len(rs) == 0 {
			return nil
		}
		r := rs[len(rs)-1] // the newest reading says how things are now
		ob.Seq, ts = r.Seq, r.TS
		ob.Reading = &alerting.Reading{Battery: r.Battery, HR: r.HR, RR: r.RR, Motion: r.Motion, Occupied: r.Occupied}
	default:
		return nil
	}
	ob.At = s.Received
	if ts > 0 {
		ob.At = time.UnixMilli(ts)
	}
	if d, late := s.Delay(ts); late {
		ob.LateBy = d
	}
	return o.rules.Observe(ctx, ob)
}

// restoreConditions loads the rules' per-device state saved by the previous run, for
// the devices still registered.
func (g *Gateway) restoreConditions(st *asqlite.Store) error {
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

// saveConditions saves the rules' per-device state, so that a restart does not
// restart their timers.
func (g *Gateway) saveConditions(ctx context.Context) error { return g.rules.Save(ctx, g.alerts) }

// ruleTick is how often the rules raise what time alone makes due (no heart rate, a
// bed left at night, inactivity, silent devices).
const ruleTick = 5 * time.Second

// conditionSave is how often the rules' per-device state is saved (and when the
// gateway stops): a crash loses at most this much of it. Saving 10,000 devices takes
// 0.1-0.2 s (alerting/rules BenchmarkSave), of which the ingest waits only for a copy.
const conditionSave = 30 * time.Second

// responderAction carries out an ack or resolve a responder app published. Refusals
// and bad messages are logged (never with the payload's note, which may name people).
func (g *Gateway) responderAction(ctx context.Context, responder string, payload []byte) {
	a, err := g.alertAPI.Responder(ctx, responder, payload)
	if err != nil {
		g.log.Warn("responder action refused", "responder", responder, "alert", a.Code, "err", err)
		return
	}
	g.log.Info("responder action", "responder", responder, "alert", a.Code, "state", a.State)
}

// thresholds maps the policy's rules for a home to the rules engine's, remembering
// each home's: the policy does not change while the gateway runs, and the rules ask
// for every message.
func thresholds(pol policy.Policy) func(township, home string) rules.Thresholds {
	// Asked once or twice for every message: a map without boxing its keys, not a
	// sync.Map.
	var mu sync.RWMutex
	cache := map[[2]string]rules.Thresholds{}
	return func(township, home string) rules.Thresholds {
		key := [2]string{township, home}
		mu.RLock()
		t, ok := cache[key]
		mu.RUnlock()
		if ok {
			return t
		}
		r := pol.RulesFor(township, home)
		t = rules.Thresholds{FallHoldOff: r.FallHoldOff, LowBatteryPct: r.LowBatteryPct,
			OutageDevices: r.OutageDevices, OutageWithin: r.OutageWithin, NoVitalsAfter: r.NoVitalsAfter,
			HRLow: r.HRLow, HRHigh: r.HRHigh, HRAbnormalFor: r.HRAbnormalFor,
			BedExitNightAfter: r.BedExitNightAfter, InactivityAfter: r.InactivityAfter,
			OfflineHeartbeats: r.OfflineHeartbeats, Night: r.Night, Day: r.Day}
		mu.Lock()
		cache[key] = t
		mu.Unlock()
		return t
	}
}
