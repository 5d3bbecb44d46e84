// Package visits is visiting care (探访关爱) and doctors' rounds (巡诊): village
// visitors and doctors check in from where they are (an SMS reply, the home's device),
// each check-in is confirmed or not by the home's own sensors, and every morning the
// people with homes due get the list of them by SMS while the township clinics get
// the homes overdue.
//
// Visits are not alerts: this package owns its words and its own SQLite database.
// The schedule (intervals per care group, the morning hour, the grace) is the visits
// section of the alerting policy; homes, their care groups and their people come from
// the registry. Names, phones and notes are personal data: they stay in the visits
// database and in SMS, never in logs, metrics or InfluxDB.
package visits

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting/policy"
	"carebed/gateway/registry"
	"carebed/internal/sqldb"
)

// Homes is the registry as visits reads it; *registry.Store is one.
type Homes interface {
	CareAll(ctx context.Context) ([]registry.Care, error)
	CareOf(ctx context.Context, home string) (registry.Care, error)
	ContactsByPhone(ctx context.Context, phone string) ([]registry.Contact, error)
	ClinicTownships(ctx context.Context) ([]registry.Township, error)
}

// SMS sends one text message. retry reports whether trying again later may work.
// Errors never contain the phone number or the text.
type SMS interface {
	Send(ctx context.Context, purpose, to, text string) (retry bool, err error)
}

// Alerts says which homes raised an alert since a time (they move up in the lists).
type Alerts interface {
	AlertHomes(ctx context.Context, since time.Time) (map[string]bool, error)
}

// Spool takes InfluxDB records (the visit and round measurements).
type Spool interface {
	Append(recs [][]byte) error
}

// Options configure the visits service.
type Options struct {
	// Path is the visits database file (required unless DatabaseURL is set).
	Path string
	// DatabaseURL, when set, keeps the visits in that PostgreSQL database instead
	// (database.url; schema component "visits").
	DatabaseURL string
	// Homes is the registry (required).
	Homes Homes
	// Schedule is the policy's visits section; Location its zone (Beijing if nil).
	Schedule policy.Visits
	Location *time.Location
	// SMS sends the morning lists; nil: none are sent.
	SMS SMS
	// Alerts moves homes with recent alerts up; nil: no home moves up.
	Alerts Alerts
	// History, if set, is asked for evidence the memory lacks (InfluxHistory).
	History History
	// Spool takes the visit and round points; nil: none are written.
	Spool Spool
	// LinkBase, if set, is the start of the one-tap link put in each morning list
	// (the gateway's public URL and "/v/"); the token follows. LinkTTL is how long a
	// link works (DefaultLinkTTL when 0).
	LinkBase   string
	LinkTTL    time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Window is how near in time the home's own sensors must show someone for a
// check-in to be confirmed: ±30 minutes.
const Window = 30 * time.Minute

// Service records check-ins and sends the lists. It is safe for concurrent use.
type Service struct {
	o   Options
	st  *store
	log *slog.Logger
	m   metrics

	mu       sync.Mutex
	activity map[string][]time.Time    // by home: recent sensor activity, device time
	pending  map[string][]pendingVisit // by home: unconfirmed check-ins that activity may still confirm
	occupied map[string]bool           // by device: last occupancy seen
}

// pendingVisit is an unconfirmed check-in waiting for sensor evidence.
type pendingVisit struct {
	v Visit
}

// New opens the visits database.
func New(o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LinkTTL <= 0 {
		o.LinkTTL = DefaultLinkTTL
	}
	if o.Location == nil {
		o.Location = policy.Default().Location()
	}
	st, adopted, err := open(o)
	if err != nil {
		return nil, err
	}
	if adopted > 0 {
		o.Logger.Info("visits copied from SQLite into PostgreSQL (once; the file is left as it was)",
			"component", "visits", "from", o.Path, "rows", adopted)
	}
	s := &Service{o: o, st: st, log: o.Logger.With("component", "visits"), m: newMetrics(o.Registerer),
		activity: map[string][]time.Time{}, pending: map[string][]pendingVisit{}, occupied: map[string]bool{}}
	if err := s.loadPending(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// openTimeout bounds connecting to PostgreSQL and migrating at start.
const openTimeout = time.Minute

// open opens the store o chooses: PostgreSQL at o.DatabaseURL, else SQLite at
// o.Path. On PostgreSQL, a SQLite database at o.Path is copied over once while the
// PostgreSQL one is empty (adopted: the rows copied).
func open(o Options) (*store, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	db, adopted, err := sqldb.OpenStore(ctx, o.DatabaseURL, o.Path, schema)
	if err != nil {
		return nil, 0, err
	}
	return &store{db: db}, adopted, nil
}

// Close closes the database.
func (s *Service) Close() error { return s.st.close() }

// metrics are the carebed_visits_* series.
type metrics struct {
	checkins *prometheus.CounterVec
	rejected *prometheus.CounterVec
	due      *prometheus.GaugeVec
	overdue  *prometheus.GaugeVec
	sms      *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) metrics {
	m := metrics{
		checkins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_visits_checkins_total",
			Help: "Visits and rounds recorded, by kind, source (sms, link, console, device) and whether the home's sensors confirmed them at recording."},
			[]string{"kind", "source", "confirmed"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_visits_rejected_total",
			Help: "Check-ins refused, by reason (unknown_sender, no_home, bad_home, unknown_home, not_yours, not_doctor, bad_vital, ambiguous_home)."},
			[]string{"reason"}),
		due: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carebed_visits_due",
			Help: "Homes due for a visit or round (overdue ones included) at the last morning list, by kind and township."},
			[]string{"kind", "township"}),
		overdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carebed_visits_overdue",
			Help: "Homes past their interval plus the grace at the last morning list, by kind and township."},
			[]string{"kind", "township"}),
		sms: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carebed_visits_sms_total",
			Help: "Morning list SMS, by purpose (visit_due, round_due, overdue) and result (sent, failed)."},
			[]string{"purpose", "result"}),
	}
	if r != nil {
		r.MustRegister(m.checkins, m.rejected, m.due, m.overdue, m.sms)
	}
	return m
}
