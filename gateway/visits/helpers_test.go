package visits

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting/policy"
	"carebed/gateway/registry"
	"carebed/internal/devsvc"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// sent is one SMS the fake sender took.
type sent struct{ purpose, to, text string }

// smsBox records SMS.
type smsBox struct {
	mu   sync.Mutex
	msgs []sent
	// refuse is a phone whose SMS fail for good (not kept in msgs).
	refuse string
}

func (b *smsBox) Send(_ context.Context, purpose, to, text string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if to == b.refuse {
		return false, errors.New("number refused")
	}
	b.msgs = append(b.msgs, sent{purpose, to, text})
	return false, nil
}

func (b *smsBox) take() []sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.msgs
	b.msgs = nil
	return out
}

// spoolBox records spool records.
type spoolBox struct {
	mu   sync.Mutex
	recs []string
}

func (s *spoolBox) Append(recs [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.recs = append(s.recs, string(r))
	}
	return nil
}

func (s *spoolBox) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.recs...)
}

// alertHomes is a fixed set of homes with recent alerts.
type alertHomes map[string]bool

func (a alertHomes) AlertHomes(context.Context, time.Time) (map[string]bool, error) { return a, nil }

// beijing is the zone of the tests' times.
var beijing = time.FixedZone("CST", 8*3600)

// fixture is a visits service over a real registry.
type fixture struct {
	dir   string // the data folder, visits.db in it
	url   string // database.url: the visits are in PostgreSQL
	reg   *registry.Store
	svc   *Service
	clock *clock
	sms   *smsBox
	spool *spoolBox
	prom  *prometheus.Registry
}

// newFixture imports ledger into a fresh registry and opens the visits service.
func newFixture(t *testing.T, ledger string, alerts Alerts) *fixture {
	t.Helper()
	return newFixtureWith(t, ledger, alerts, "")
}

// newFixtureWith is newFixture with one-tap links starting with linkBase.
func newFixtureWith(t *testing.T, ledger string, alerts Alerts, linkBase string) *fixture {
	t.Helper()
	return newFixtureOn(t, false, ledger, alerts, linkBase)
}

// fixtureFn and fixtureWithFn are newFixture and newFixtureWith.
type (
	fixtureFn     = func(t *testing.T, ledger string, alerts Alerts) *fixture
	fixtureWithFn = func(t *testing.T, ledger string, alerts Alerts, linkBase string) *fixture
)

// sharedPostgres starts one PostgreSQL cluster for the package's test binary, on
// first use; TestMain stops it.
var sharedPostgres, stopPostgres = devsvc.Shared(devsvc.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	stopPostgres()
	os.Exit(code)
}

// eachBackend runs test once with the visits database in SQLite and once in
// PostgreSQL (a fresh database of one shared cluster), as subtests named after them.
func eachBackend(t *testing.T, test func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			with := func(t *testing.T, ledger string, alerts Alerts, linkBase string) *fixture {
				t.Helper()
				return newFixtureOn(t, pg, ledger, alerts, linkBase)
			}
			test(t, func(t *testing.T, ledger string, alerts Alerts) *fixture {
				t.Helper()
				return with(t, ledger, alerts, "")
			}, with)
		})
	}
}

// newFixtureOn is newFixtureWith with the visits database on PostgreSQL when pg is set.
func newFixtureOn(t *testing.T, pg bool, ledger string, alerts Alerts, linkBase string) *fixture {
	t.Helper()
	var url string
	if pg {
		url = sharedPostgres(t).NewDatabase(t)
	}
	dir := t.TempDir()
	reg, err := registry.Open(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if rep, err := reg.Import(context.Background(), strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatalf("import: %v %+v", err, rep)
	}
	f := &fixture{dir: dir, url: url, reg: reg, clock: &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, beijing)}, sms: &smsBox{},
		spool: &spoolBox{}, prom: prometheus.NewRegistry()}
	svc, err := New(Options{Path: filepath.Join(dir, "visits.db"), DatabaseURL: url, Homes: reg, Schedule: policy.Default().Visits(),
		Location: beijing, SMS: f.sms, Alerts: alerts, Spool: f.spool, LinkBase: linkBase, Registerer: f.prom, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	f.svc = svc
	return f
}

// visitsOf returns the visits recorded for a home, newest first.
func (f *fixture) visitsOf(t *testing.T, home string) []Visit {
	t.Helper()
	vs, err := f.svc.st.list(context.Background(), `WHERE home = ?`, home)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// count returns the number of visits recorded.
func (f *fixture) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.svc.st.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM visits`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// smallLedger: two homes of visitor 甲 (H-0001 失能, H-0002 高龄) with doctor 乙,
// and H-0003 of another visitor.
const smallLedger = "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话,心跳间隔,照护类别\n" +
	"和静县,和静镇,A村,H-0001,,,,,hj-0001-bed,床垫传感器,甲,13800000001,乙,13900000002,13700000003,13600000009,,失能\n" +
	"和静县,和静镇,A村,H-0002,,,,,hj-0002-sos,紧急呼叫器,甲,13800000001,乙,13900000002,,,,高龄\n" +
	"和静县,和静镇,B村,H-0013,,,,,hj-0013-sos,紧急呼叫器,丙,13800000004,,,,,,独居/留守\n"

const (
	visitorJia  = "+8613800000001"
	doctorYi    = "+8613900000002"
	familyOf1   = "+8613700000003"
	visitorBing = "+8613800000004"
)
