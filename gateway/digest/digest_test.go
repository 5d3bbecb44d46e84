package digest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/registry"
	"carebed/gateway/visits"
	"carebed/internal/devsvc"
)

const (
	famA   = "+8613900000001" // family of H-0001 (and of H-0002)
	famB   = "+8613900000002" // family of H-0001
	doctor = "+8613800000012"
)

// homes is the registry of the tests: H-0001 in 巴伦台镇, H-0002 in 和静镇 (whose
// ledger has no elder name).
type homes struct{}

var contacts = []registry.Contact{
	{Home: "H-0001", Role: registry.RoleVillageDoctor, Phone: doctor},
	{Home: "H-0001", Role: registry.RoleFamily, Phone: famA, Pos: 1},
	{Home: "H-0001", Role: registry.RoleFamily, Phone: famB, Pos: 2},
	{Home: "H-0002", Role: registry.RoleFamily, Phone: famA},
}

func (homes) AllContacts(context.Context) ([]registry.Contact, error) { return contacts, nil }
func (homes) ContactsByPhone(_ context.Context, p string) ([]registry.Contact, error) {
	var out []registry.Contact
	for _, c := range contacts {
		if c.Phone == p {
			out = append(out, c)
		}
	}
	return out, nil
}
func (homes) Home(_ context.Context, id string) (registry.Home, error) {
	switch id {
	case "H-0001":
		return registry.Home{Place: registry.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: id}, Elder: "王秀英"}, nil
	case "H-0002":
		return registry.Home{Place: registry.Place{County: "和静县", Township: "和静镇", Village: "东村", Home: id}}, nil
	}
	return registry.Home{}, registry.ErrNotFound
}

// sleep gives H-0001 seven nights in bed 22:00–07:10 (a reading every 5 minutes) and
// two bed exits at night; H-0002 nothing.
type sleep struct{}

func (sleep) Occupancy(_ context.Context, home string, from, to time.Time) ([]Reading, error) {
	if home != "H-0001" {
		return nil, nil
	}
	return readings(from, to, 5*time.Minute, func(t time.Time) bool {
		c := t.In(beijing)
		m := c.Hour()*60 + c.Minute()
		return m >= 22*60 || m < 7*60+10
	}), nil
}
func (sleep) BedExits(_ context.Context, home string, from, to time.Time) ([]time.Time, error) {
	if home != "H-0001" {
		return nil, nil
	}
	return []time.Time{bj(24, 2, 10), bj(26, 3, 0), bj(26, 15, 0)}, nil
}

type visitsFake struct{}

func (visitsFake) Between(_ context.Context, home string, from, to time.Time) ([]visits.Visit, error) {
	var out []visits.Visit
	for _, v := range []visits.Visit{{Home: "H-0001", Kind: visits.KindVisit, At: bj(25, 10, 0)},
		{Home: "H-0001", Kind: visits.KindVisit, At: bj(29, 10, 0)}} {
		if v.Home == home && !v.At.Before(from) && v.At.Before(to) {
			out = append(out, v)
		}
	}
	return out, nil
}

type alertsFake struct{}

func (alertsFake) List(_ context.Context, f alerting.Filter) ([]alerting.Alert, error) {
	all := []alerting.Alert{ // newest first
		{Kind: alerting.KindSOS, State: alerting.StateResolved, OpenedAt: bj(27, 9, 0), Outcome: alerting.OutcomeCancelled,
			Place: alerting.Place{County: "和静县", Township: "和静镇", Village: "东村", Home: "H-0002"}},
		{Kind: alerting.KindFall, State: alerting.StateResolved, OpenedAt: bj(26, 9, 0),
			Place: alerting.Place{County: "和静县", Township: "和静镇", Village: "东村", Home: "H-0002"}},
		{Kind: alerting.KindFall, State: alerting.StateResolved, OpenedAt: bj(20, 9, 0),
			Place: alerting.Place{County: "和静县", Township: "和静镇", Village: "东村", Home: "H-0002"}},
	}
	var out []alerting.Alert
	for _, a := range all {
		if a.Place.Village == f.Village {
			out = append(out, a)
		}
	}
	return out, nil
}

// smsLog records the digests sent; fail makes the next sends fail.
type smsLog struct {
	mu   sync.Mutex
	got  []string // "to: text"
	fail error
}

func (s *smsLog) Send(_ context.Context, purpose, to, text string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return true, s.fail
	}
	s.got = append(s.got, to+": "+text)
	return false, nil
}

func (s *smsLog) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// testPolicy has quiet hours 22:00–07:00 (the default) but 23:00–06:00 in 和静镇.
func testPolicy(t *testing.T) policy.Policy {
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("townships:\n  和静镇:\n    quiet_hours: {start: \"23:00\", end: \"06:00\"}\n"), &node); err != nil {
		t.Fatal(err)
	}
	p, err := policy.ParseNode(&node)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// sharedPostgres starts one PostgreSQL cluster for the package's test binary, on
// first use; TestMain stops it.
var sharedPostgres, stopPostgres = devsvc.Shared(devsvc.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	stopPostgres()
	os.Exit(code)
}

// backend is where a test's digest database is: a file (url "") or PostgreSQL.
type backend struct {
	path, url string
}

// eachBackend runs test with the digest in SQLite and in PostgreSQL (a fresh
// database of one shared cluster), as subtests named after them.
func eachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) { test(t, backend{path: filepath.Join(t.TempDir(), FileName)}) })
	t.Run("postgres", func(t *testing.T) {
		test(t, backend{path: filepath.Join(t.TempDir(), FileName), url: sharedPostgres(t).NewDatabase(t)})
	})
}

// otherNode is the backend as the pair's other gateway sees it: its own data folder
// (no digest.db there), the same PostgreSQL; with SQLite, the same file (a restart).
func (b backend) otherNode(t *testing.T) backend {
	if b.url == "" {
		return b
	}
	return backend{path: filepath.Join(t.TempDir(), FileName), url: b.url}
}

// newService opens a digest at b, Sundays at 19:00.
func newService(t *testing.T, b backend, sms *smsLog, clk *clock, reg prometheus.Registerer) *Service {
	t.Helper()
	s, err := New(Options{Path: b.path, DatabaseURL: b.url, Homes: homes{}, Sleep: sleep{}, Visits: visitsFake{}, Alerts: alertsFake{},
		Policy: testPolicy(t), SMS: sms, Schedule: Schedule{Weekday: time.Sunday, At: 19 * time.Hour},
		Location: beijing, Registerer: reg, Now: clk.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDue(t *testing.T) {
	s := &Service{o: Options{Location: beijing, Schedule: Schedule{Weekday: time.Sunday, At: 19 * time.Hour}}}
	for now, want := range map[time.Time]time.Time{
		bj(29, 19, 0): bj(29, 19, 0), bj(29, 18, 59): bj(22, 19, 0), bj(30, 3, 0): bj(29, 19, 0),
		bj(28, 23, 0): bj(22, 19, 0), time.Date(2026, 12, 5, 12, 0, 0, 0, beijing): bj(29, 19, 0),
	} {
		if got := s.Due(now); !got.Equal(want) {
			t.Errorf("Due(%v) = %v, want %v", now, got, want)
		}
	}
}

// TestSubscribeBySMS takes the words from family phones only, and answers them.
func TestSubscribeBySMS(t *testing.T) { eachBackend(t, checkSubscribeBySMS) }

func checkSubscribeBySMS(t *testing.T, b backend) {
	clk := &clock{t: bj(20, 12, 0)}
	s := newService(t, b, &smsLog{}, clk, nil)
	ctx := context.Background()
	tests := []struct {
		from, body string
		taken      bool
		reply      string
		subscribed bool
	}{
		{famA, "订阅", true, "已订阅每周简报：每周日19点左右发来老人一周的情况。回复退订可停止。", true},
		{famA, " 订阅。", true, "已订阅每周简报：每周日19点左右发来老人一周的情况。回复退订可停止。", true},
		{famB, "td", true, "已退订每周简报，不会再发给您。想再收到，请回复订阅。", false},
		{famA, "TD", true, "已退订每周简报，不会再发给您。想再收到，请回复订阅。", false},
		{famA, "退订", true, "已退订每周简报，不会再发给您。想再收到，请回复订阅。", false},
		{famA, "订阅一下", false, "", false},
		{famA, "1", false, "", false},
		{doctor, "订阅", false, "", false},
		{"+8613512345678", "订阅", false, "", false},
	}
	for _, tt := range tests {
		reply, taken, err := s.HandleSMS(ctx, tt.from, tt.body)
		if err != nil || taken != tt.taken || reply != tt.reply {
			t.Errorf("%s %q: %q %v %v; want %q %v", tt.from, tt.body, reply, taken, err, tt.reply, tt.taken)
		}
		if on, _ := s.st.subscribed(ctx, tt.from); on != tt.subscribed {
			t.Errorf("%s %q: subscribed %v, want %v", tt.from, tt.body, on, tt.subscribed)
		}
	}
}

// TestSend sends the week's digests at the set time to the subscribed family phones
// only, once each across restarts (on PostgreSQL: across the pair's two gateways),
// and not in quiet hours.
func TestSend(t *testing.T) { eachBackend(t, checkSend) }

func checkSend(t *testing.T, b backend) {
	ctx := context.Background()
	sms := &smsLog{}
	clk := &clock{t: bj(20, 12, 0)}
	reg := prometheus.NewRegistry()
	s := newService(t, b, sms, clk, reg)
	for _, w := range []struct{ from, body string }{{famA, "订阅"}, {famB, "订阅"}, {famB, "退订"}} {
		if _, _, err := s.HandleSMS(ctx, w.from, w.body); err != nil {
			t.Fatal(err)
		}
	}

	// Before Sunday 19:00 the last digest time is a week ago, before famA subscribed.
	clk.set(bj(29, 18, 59))
	if rep, err := s.Send(ctx, clk.now()); err != nil || rep != (Report{}) || len(sms.sent()) != 0 {
		t.Fatalf("before the time: %+v %v %q", rep, err, sms.sent())
	}
	// At 19:00 both of famA's homes get theirs; famB, unsubscribed, nothing.
	clk.set(bj(29, 19, 0))
	sms.fail = errors.New("twilio: 503")
	if rep, err := s.Send(ctx, clk.now()); err != nil || rep.Failed != 2 || len(sms.sent()) != 0 {
		t.Fatalf("failing sends: %+v %v", rep, err)
	}
	sms.fail = nil
	rep, err := s.Send(ctx, clk.now())
	if err != nil || rep.Sent != 2 {
		t.Fatalf("at the time: %+v %v", rep, err)
	}
	want := []string{
		famA + ": 【巴州家庭养老床位】王秀英本周：夜里平均睡9小时，一般7点10分起床，夜间离床2次；探访员25日来过；无警报。退订回TD",
		famA + ": 【巴州家庭养老床位】您的家人本周：床垫无数据；本周无人探访；警报1次（26日跌倒），已处理。退订回TD",
	}
	if got := sms.sent(); !slices.Equal(got, want) {
		t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := testutil.ToFloat64(s.m.sms.WithLabelValues("sent")); n != 2 {
		t.Errorf("carebed_digest_sms_total{result=sent} = %v", n)
	}

	// A restart (on PostgreSQL: the pair's other gateway taking over, with a data
	// folder of its own) does not send the week again, and keeps the opt-ins.
	s.Close()
	s = newService(t, b.otherNode(t), sms, clk, nil)
	clk.set(bj(29, 19, 30))
	if rep, err := s.Send(ctx, clk.now()); err != nil || rep.Sent != 0 || len(sms.sent()) != 2 {
		t.Errorf("after a restart: %+v %v %d", rep, err, len(sms.sent()))
	}

	// Next week famB subscribes again; Sunday 6 December at 22:30 is in 巴伦台镇's
	// quiet hours (22:00–07:00) but not in 和静镇's (23:00–06:00).
	clk.set(time.Date(2026, 12, 1, 12, 0, 0, 0, beijing))
	if _, _, err := s.HandleSMS(ctx, famB, "订阅"); err != nil {
		t.Fatal(err)
	}
	clk.set(time.Date(2026, 12, 6, 22, 30, 0, 0, beijing))
	rep, err = s.Send(ctx, clk.now())
	if err != nil || rep.Sent != 1 || rep.Held != 2 {
		t.Errorf("in 巴伦台镇's quiet hours: %+v %v", rep, err)
	}
	// At 07:00 the held ones go; a day after the time, nothing more.
	clk.set(time.Date(2026, 12, 7, 7, 0, 0, 0, beijing))
	if rep, err = s.Send(ctx, clk.now()); err != nil || rep.Sent != 2 {
		t.Errorf("after the quiet hours: %+v %v", rep, err)
	}
	if got := sms.sent(); len(got) != 5 || !strings.HasPrefix(got[4], famB+": ") && !strings.HasPrefix(got[3], famB+": ") {
		t.Errorf("sent: %q", got)
	}
	if _, _, err := s.HandleSMS(ctx, famB, "TD"); err != nil {
		t.Fatal(err)
	}
	clk.set(time.Date(2026, 12, 14, 19, 0, 0, 0, beijing)) // a Monday: the Sunday's time was a day ago
	if rep, err = s.Send(ctx, clk.now()); err != nil || rep != (Report{}) {
		t.Errorf("a day late: %+v %v", rep, err)
	}
	clk.set(time.Date(2026, 12, 20, 19, 0, 0, 0, beijing))
	if rep, err = s.Send(ctx, clk.now()); err != nil || rep.Sent != 2 {
		t.Errorf("20 December: %+v %v", rep, err)
	}
	for _, m := range sms.sent()[5:] {
		if strings.HasPrefix(m, famB) {
			t.Errorf("sent to famB after TD: %s", m)
		}
	}
}

// downSleep is InfluxDB unreachable while down is set.
type downSleep struct {
	sleep
	down *bool
}

func (d downSleep) Occupancy(ctx context.Context, home string, from, to time.Time) ([]Reading, error) {
	if *d.down {
		return nil, errors.New("influxread: connection refused")
	}
	return d.sleep.Occupancy(ctx, home, from, to)
}

// TestSendInfluxDown: a week that cannot be read is not sent, and not given up: the
// next run sends it.
func TestSendInfluxDown(t *testing.T) {
	ctx := context.Background()
	down := true
	sms := &smsLog{}
	clk := &clock{t: bj(20, 12, 0)}
	s, err := New(Options{Path: filepath.Join(t.TempDir(), "digest.db"), Homes: homes{}, Sleep: downSleep{down: &down},
		Policy: testPolicy(t), SMS: sms, Schedule: Schedule{Weekday: time.Sunday, At: 19 * time.Hour},
		Location: beijing, Now: clk.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.HandleSMS(ctx, famB, "订阅"); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Send(ctx, bj(29, 19, 0))
	if err == nil || rep.Failed != 1 || len(sms.sent()) != 0 {
		t.Fatalf("InfluxDB down: %+v %v %q", rep, err, sms.sent())
	}
	down = false
	if rep, err := s.Send(ctx, bj(29, 19, 1)); err != nil || rep.Sent != 1 || len(sms.sent()) != 1 {
		t.Fatalf("InfluxDB back: %+v %v %q", rep, err, sms.sent())
	}
}
