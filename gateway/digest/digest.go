// Package digest is the weekly family digest: one SMS a week to each family phone
// that asked for it (by replying 订阅), saying how the elder's week went: nights in
// bed and the usual rising time from the bed sensor's occupancy (InfluxDB), night-time
// bed exits, the visits and rounds (gateway/visits) and the week's alerts (the alert
// store). 退订 (or TD) stops it; nothing is ever sent to a phone that has not
// subscribed or has unsubscribed, and nothing in the policy's quiet hours.
//
// The digest owns its own SQLite database (digest.db in the data folder): the
// subscriptions and, per week, phone and home, that the digest went out, recorded
// before it is sent, so that a crash or a restart never sends a week twice. Phones,
// names and texts are personal data: they stay in that database and in SMS, never in
// logs or metrics.
package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/registry"
	"carebed/gateway/visits"
)

// Homes is the registry as the digest reads it; *registry.Store is one.
type Homes interface {
	AllContacts(ctx context.Context) ([]registry.Contact, error)
	ContactsByPhone(ctx context.Context, phone string) ([]registry.Contact, error)
	Home(ctx context.Context, id string) (registry.Home, error)
}

// Sleep reads a home's bed sensor data; InfluxSleep is one.
type Sleep interface {
	// Occupancy returns the occupancy readings of the home's bed sensor (the one
	// with the most readings when there are several) in [from, to), in time order.
	Occupancy(ctx context.Context, home string, from, to time.Time) ([]Reading, error)
	// BedExits returns the times of the home's bed_exit events in [from, to).
	BedExits(ctx context.Context, home string, from, to time.Time) ([]time.Time, error)
}

// Visits reads a home's visits and rounds; *visits.Service is one.
type Visits interface {
	Between(ctx context.Context, home string, from, to time.Time) ([]visits.Visit, error)
}

// Alerts reads the alert store; an alerting.Store is one.
type Alerts interface {
	List(ctx context.Context, f alerting.Filter) ([]alerting.Alert, error)
}

// SMS sends one text message. retry reports whether trying again later may work.
type SMS interface {
	Send(ctx context.Context, purpose, to, text string) (retry bool, err error)
}

// Policy gives the night window (for bed exits) and the quiet hours; policy.Policy
// is one.
type Policy interface {
	RulesFor(township, home string) policy.Rules
	QuietHours(township string) policy.Window
}

// Schedule is when the digest goes out each week, in the policy's zone.
type Schedule struct {
	Weekday time.Weekday
	At      time.Duration // since midnight
}

// Options configure the digest.
type Options struct {
	// Path is the digest database file (required unless DatabaseURL is set; then
	// an existing file is copied into PostgreSQL once).
	Path string
	// DatabaseURL, when set, keeps the opt-ins and what was sent in that PostgreSQL
	// database (database.url; schema component "digest"), so that both gateways of a
	// pair know them.
	DatabaseURL string
	// Homes, Sleep, Visits, Alerts and Policy are where the week is read from
	// (required; Sleep, Visits and Alerts may be nil in tests: no data).
	Homes  Homes
	Sleep  Sleep
	Visits Visits
	Alerts Alerts
	Policy Policy
	// SMS sends the digests and nothing else (the replies to 订阅 go back in the
	// webhook's answer); nil: none are sent.
	SMS      SMS
	Schedule Schedule
	// Signature starts every digest (DefaultSignature when empty).
	Signature  string
	Location   *time.Location
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// CatchUp is how long after its time a week's digest may still go out (the gateway
// was down, quiet hours, a failed send); after that the week is skipped.
const CatchUp = 24 * time.Hour

// Tick is how often Run looks whether digests are due.
const Tick = 10 * time.Second

// maxAlerts bounds the alerts read from one village for one week.
const maxAlerts = 2000

// Purpose is the SMS purpose of a digest (and the notifier's metric label).
const Purpose = "family_digest"

// Service sends the digests and takes the subscriptions. Safe for concurrent use.
type Service struct {
	o   Options
	st  *store
	log *slog.Logger
	m   metrics
}

// New opens the digest database.
func New(o Options) (*Service, error) {
	if o.Homes == nil || o.Policy == nil {
		return nil, errors.New("digest: Homes and Policy are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = policy.Default().Location()
	}
	if o.Signature == "" {
		o.Signature = DefaultSignature
	}
	st, adopted, err := open(o.Path, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if adopted > 0 {
		o.Logger.Info("digest opt-ins copied from SQLite into PostgreSQL (once; the file is left as it was)",
			"component", "digest", "from", o.Path, "rows", adopted)
	}
	return &Service{o: o, st: st, log: o.Logger.With("component", "digest"), m: newMetrics(o.Registerer)}, nil
}

// Close closes the database.
func (s *Service) Close() error { return s.st.close() }

// metrics are the carebed_digest_* series.
type metrics struct {
	sms           *prometheus.CounterVec
	subscriptions *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) metrics {
	m := metrics{
		sms: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_digest_sms_total",
			Help: "Weekly family digest SMS, by result (sent, failed)."}, []string{"result"}),
		subscriptions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_digest_subscriptions_total",
			Help: "Family digest subscriptions by SMS reply, by action (subscribe, unsubscribe)."}, []string{"action"}),
	}
	if r != nil {
		r.MustRegister(m.sms, m.subscriptions)
	}
	return m
}

// Due returns the latest time the schedule reached at or before now.
func (s *Service) Due(now time.Time) time.Time {
	local := now.In(s.o.Location)
	y, m, d := local.Date()
	back := (int(local.Weekday()) - int(s.o.Schedule.Weekday) + 7) % 7
	at := time.Date(y, m, d-back, 0, 0, 0, 0, s.o.Location).Add(s.o.Schedule.At)
	if at.After(now) {
		at = time.Date(y, m, d-back-7, 0, 0, 0, 0, s.o.Location).Add(s.o.Schedule.At)
	}
	return at
}

// Report is what one run did.
type Report struct {
	Sent, Failed int
	// Held are digests not sent because the home's township is in its quiet hours.
	Held int
}

// Send sends the digest of the week due at now (see Due) to every family phone
// subscribed since before that time that has not had it, unless more than CatchUp
// has passed or the home's township is in its quiet hours (tried again later).
func (s *Service) Send(ctx context.Context, now time.Time) (Report, error) {
	var rep Report
	due := s.Due(now)
	if s.o.SMS == nil || now.Sub(due) >= CatchUp {
		return rep, nil
	}
	week := due.In(s.o.Location).Format(time.DateOnly)
	subs, err := s.st.subscribedBefore(ctx, due)
	if err != nil || len(subs) == 0 {
		return rep, err
	}
	contacts, err := s.o.Homes.AllContacts(ctx)
	if err != nil {
		return rep, err
	}
	done, err := s.st.sentIn(ctx, week)
	if err != nil {
		return rep, err
	}
	weeks := map[string]weekRead{}
	var errs []error
	for _, c := range contacts {
		if c.Role != registry.RoleFamily || !subs[c.Phone] || done[[2]string{c.Phone, c.Home}] {
			continue
		}
		res, err := s.sendOne(ctx, week, due, now, c, weeks)
		switch res {
		case sent:
			rep.Sent++
		case failed:
			rep.Failed++
		case held:
			rep.Held++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

type result int

// weekRead is a home's week as read in one run, or why it could not be.
type weekRead struct {
	w   Week
	err error
}

const (
	skipped result = iota // sent before, or not to be sent
	sent
	failed
	held
)

// sendOne sends one home's digest to one phone unless it went out this week.
func (s *Service) sendOne(ctx context.Context, week string, due, now time.Time, c registry.Contact,
	weeks map[string]weekRead) (result, error) {
	h, err := s.o.Homes.Home(ctx, c.Home)
	if err != nil {
		return failed, err
	}
	if s.o.Policy.QuietHours(h.Place.Township).Contains(now) {
		return held, nil
	}
	if on, err := s.st.subscribed(ctx, c.Phone); err != nil || !on { // unsubscribed since the run began
		return skipped, err
	}
	first, err := s.st.claim(ctx, week, c.Phone, c.Home, now)
	if err != nil || !first {
		return skipped, err
	}
	wk, ok := weeks[c.Home]
	if !ok {
		wk.w, wk.err = s.Week(ctx, h, due)
		weeks[c.Home] = wk // a failed read is not tried again for the home's next phone in this run
	}
	if wk.err != nil {
		s.m.sms.WithLabelValues("failed").Inc()
		return failed, errors.Join(wk.err, s.st.unclaim(ctx, week, c.Phone, c.Home))
	}
	w := wk.w
	text := Text(s.o.Signature, w)
	retry, err := s.o.SMS.Send(ctx, Purpose, c.Phone, text)
	if lerr := s.st.logSMS(ctx, week, c.Phone, c.Home, err != nil, policy.Segments(text), now); lerr != nil {
		s.log.Warn("family digest SMS not logged for the report", "home", c.Home, "err", lerr)
	}
	if err != nil {
		s.m.sms.WithLabelValues("failed").Inc()
		s.log.Warn("family digest SMS not sent", "home", c.Home, "retry", retry, "err", err)
		if !retry {
			return skipped, nil
		}
		return failed, s.st.unclaim(ctx, week, c.Phone, c.Home)
	}
	s.m.sms.WithLabelValues("sent").Inc()
	return sent, nil
}

// Week reads what the digest due at due says about home h: the seven days before
// due's day.
func (s *Service) Week(ctx context.Context, h registry.Home, due time.Time) (Week, error) {
	from, to := weekBounds(due, s.o.Location)
	w := Week{Elder: h.Elder, From: from, To: to, Loc: s.o.Location}
	if strings.TrimSpace(w.Elder) == "" {
		w.Elder = "您的家人"
	}
	home := h.Place.Home
	starts := nightStarts(from)
	w.Nights = nights(starts, nil)
	if s.o.Sleep != nil {
		rs, err := s.o.Sleep.Occupancy(ctx, home, starts[0], nightEnd(starts[len(starts)-1]))
		if err != nil {
			return w, err
		}
		w.Nights = nights(starts, rs)
		exits, err := s.o.Sleep.BedExits(ctx, home, starts[0], nightEnd(starts[len(starts)-1]))
		if err != nil {
			return w, err
		}
		w.BedExits = countBedExits(exits, s.o.Policy.RulesFor(h.Place.Township, home).Night)
	}
	if s.o.Visits != nil {
		vs, err := s.o.Visits.Between(ctx, home, from, to)
		if err != nil {
			return w, err
		}
		slices.SortFunc(vs, func(a, b visits.Visit) int { return a.At.Compare(b.At) })
		w.Visits = vs
	}
	if s.o.Alerts != nil {
		as, err := s.o.Alerts.List(ctx, alerting.Filter{County: h.Place.County, Township: h.Place.Township,
			Village: h.Place.Village, Limit: maxAlerts})
		if err != nil {
			return w, fmt.Errorf("digest: alerts: %w", err)
		}
		for _, a := range slices.Backward(as) { // newest first
			if a.Place.Home == home && !a.OpenedAt.Before(from) && a.OpenedAt.Before(to) &&
				a.Outcome != alerting.OutcomeCancelled {
				w.Alerts = append(w.Alerts, a)
			}
		}
	}
	return w, nil
}

// Run sends the digests when they are due, looking every Tick, until ctx ends. Once
// a week's run has left nothing failed or held (or the week is past CatchUp), Run
// rests until the next week's time.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(Tick)
	defer t.Stop()
	var done time.Time // the due time of the week finished
	for {
		now := s.o.Now()
		if due := s.Due(now); !due.Equal(done) {
			rep, err := s.Send(ctx, now)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Error("family digests failed; tried again", "err", err)
			case err == nil && rep.Failed == 0 && rep.Held == 0:
				done = due
			}
			if rep.Sent > 0 || rep.Failed > 0 {
				s.log.Info("family digests sent", "sent", rep.Sent, "failed", rep.Failed, "held", rep.Held)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
