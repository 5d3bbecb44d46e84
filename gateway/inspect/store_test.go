package inspect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/registry"
	"carebed/gateway/visits"
	"carebed/internal/devsvc"
)

// sharedPostgres starts one PostgreSQL cluster for the package's test binary, on
// first use; TestMain stops it.
var sharedPostgres, stopPostgres = devsvc.Shared(devsvc.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	stopPostgres()
	os.Exit(code)
}

// TestStore keeps a draw and its results, in SQLite and in PostgreSQL (where both
// gateways of a pair and the command line read the same draws).
func TestStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { checkStore(t, "") })
	t.Run("postgres", func(t *testing.T) { checkStore(t, sharedPostgres(t).NewDatabase(t)) })
}

func checkStore(t *testing.T, url string) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := ReadMonth(ctx, dir, url, nov); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no database: %v", err)
	}
	s, err := Open(filepath.Join(dir, FileName), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	facts := []Facts{home("H-1", 1, 0, 0), home("H-2", 0, 1, 0), home("H-3", 0, 0, 2)}
	ins := []Inspector{{"张三", "民政局"}, {"李四", ""}}
	drawn, err := Draw(nov, 99, facts, ins, 2)
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{Month: nov, Seed: 99, Scope: "和静县", DrawnAt: time.UnixMilli(1764500000000)}
	for _, d := range drawn {
		rec.Entries = append(rec.Entries, Entry{Drawn: d})
	}
	if err := s.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	again := rec
	again.DrawnAt = time.UnixMilli(1764600000000)
	if err := s.Save(ctx, again); err != nil {
		t.Errorf("the same draw again: %v", err)
	}
	other := rec
	other.Seed = 100
	if err := s.Save(ctx, other); !errors.Is(err, ErrDrawn) {
		t.Errorf("another draw of the month: %v", err)
	}
	first := drawn[0].Place.Home
	res := Result{Outcome: OutcomeFix, Note: "护理记录不全", By: "county-admin", At: time.UnixMilli(1765000000000)}
	if err := s.SetResult(ctx, nov, first, res); err != nil {
		t.Fatal(err)
	}
	if err := s.SetResult(ctx, nov, "H-9", res); !errors.Is(err, ErrNotFound) {
		t.Errorf("a home not drawn: %v", err)
	}
	if err := s.SetResult(ctx, nov, first, Result{Outcome: "maybe"}); err == nil {
		t.Error("an unknown outcome was stored")
	}
	readDir := dir
	if url != "" {
		readDir = t.TempDir() // on PostgreSQL: any node's data folder
	}
	got, err := ReadMonth(ctx, readDir, url, nov)
	if err != nil || got.Seed != 99 || got.Scope != "和静县" || !got.DrawnAt.Equal(rec.DrawnAt) || len(got.Entries) != 2 {
		t.Fatalf("ReadMonth: %+v %v", got, err)
	}
	for i, e := range got.Entries {
		if e.Drawn != drawn[i] {
			t.Errorf("entry %d: %+v, want %+v", i, e.Drawn, drawn[i])
		}
	}
	if r := got.Entries[0].Result; r.Outcome != OutcomeFix || r.Note != res.Note || r.By != res.By || !r.At.Equal(res.At) {
		t.Errorf("result: %+v", r)
	}
	if r := got.Entries[1].Result; r.Outcome != OutcomePending || r.Outcome.Chinese() != "待检查" {
		t.Errorf("second result: %+v", r)
	}
	if _, err := s.Month(ctx, Month{2026, 10}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a month not drawn: %v", err)
	}
	if url != "" {
		return
	}
	// A site moving to PostgreSQL keeps its published draws and their results.
	s.Close()
	moved := sharedPostgres(t).NewDatabase(t)
	pg, err := Open(filepath.Join(dir, FileName), moved)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if got, err := pg.Month(ctx, nov); err != nil || got.Seed != 99 || len(got.Entries) != 2 ||
		got.Entries[0].Result.Outcome != OutcomeFix || got.Entries[1].Result.At != (time.Time{}) {
		t.Errorf("the draw copied into PostgreSQL: %+v %v", got, err)
	}
}

type careFake []registry.Care

func (c careFake) CareAll(context.Context) ([]registry.Care, error) { return c, nil }

type visitsFake struct {
	vs   []visits.Visit
	dues []visits.Due
	at   *time.Time
}

func (v visitsFake) Recent(_ context.Context, since time.Time, _ int) ([]visits.Visit, error) {
	var out []visits.Visit
	for _, x := range v.vs {
		if !x.At.Before(since) {
			out = append(out, x)
		}
	}
	return out, nil
}

func (v visitsFake) Due(_ context.Context, now time.Time) ([]visits.Due, error) {
	*v.at = now
	return v.dues, nil
}

type alertsFake []alerting.Alert

func (a alertsFake) List(context.Context, alerting.Filter) ([]alerting.Alert, error) { return a, nil }

// TestGather counts each home's unconfirmed visits, overdue kinds and slow alerts of
// the month.
func TestGather(t *testing.T) {
	bj := policy.Default().Location()
	from, to := nov.Bounds(bj)
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, bj) }
	place := func(h string) registry.Place {
		return registry.Place{County: "和静县", Township: "巴伦台镇", Village: "村", Home: h}
	}
	care := careFake{{Place: place("H-1")}, {Place: place("H-2")}, {Place: registry.Place{County: "和硕县", Home: "H-3"}}}
	var dueAt time.Time
	vf := visitsFake{at: &dueAt,
		vs: []visits.Visit{
			{Home: "H-1", At: at(3, 10, 0)}, {Home: "H-1", At: at(5, 10, 0), Confirmed: true},
			{Home: "H-1", At: time.Date(2026, 12, 1, 9, 0, 0, 0, bj)}, // next month
			{Home: "H-1", At: at(30, 23, 0)},
		},
		dues: []visits.Due{{Care: care[1], Kind: visits.KindVisit, Overdue: true}, {Care: care[1], Kind: visits.KindRound, Overdue: true},
			{Care: care[0], Kind: visits.KindVisit}},
	}
	alert := func(h string, opened time.Time, f func(*alerting.Alert)) alerting.Alert {
		p := place(h)
		a := alerting.Alert{Place: alerting.Place{County: p.County, Township: p.Township, Village: p.Village, Home: p.Home}, OpenedAt: opened, State: alerting.StateAcknowledged}
		f(&a)
		return a
	}
	af := alertsFake{
		alert("H-2", at(10, 3, 0), func(a *alerting.Alert) { a.AckedAt = a.OpenedAt.Add(6 * time.Minute) }), // slow
		alert("H-2", at(11, 3, 0), func(a *alerting.Alert) { a.AckedAt = a.OpenedAt.Add(4 * time.Minute) }), // in time
		alert("H-1", at(12, 3, 0), func(a *alerting.Alert) { a.State = alerting.StateOpen }),                // never taken
		alert("H-1", at(13, 3, 0), func(a *alerting.Alert) { a.State, a.Outcome = alerting.StateResolved, alerting.OutcomeCancelled }),
		alert("H-1", at(14, 3, 0), func(a *alerting.Alert) { a.State, a.Outcome = alerting.StateResolved, alerting.OutcomeAutoResolved }),
		alert("H-2", at(1, 0, 0).Add(-time.Minute), func(a *alerting.Alert) { a.AckedAt = a.OpenedAt.Add(time.Hour) }), // October
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, bj)
	facts, err := Gather(context.Background(), Sources{Homes: care, Visits: vf, Alerts: af, Slow: 5 * time.Minute, County: "和静县"}, from, to, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []Facts{{Place: place("H-1"), Unconfirmed: 2, Slow: 1}, {Place: place("H-2"), Overdue: 2, Slow: 1}}
	if len(facts) != len(want) || facts[0] != want[0] || facts[1] != want[1] {
		t.Errorf("facts:\n got %+v\nwant %+v", facts, want)
	}
	if !dueAt.Equal(to.Add(-time.Nanosecond)) {
		t.Errorf("overdue read at %v, want the month's end", dueAt)
	}
	// A month not over yet: overdue as of now.
	if _, err := Gather(context.Background(), Sources{Homes: care, Visits: vf, Alerts: af, Slow: 5 * time.Minute}, from, to, at(20, 0, 0)); err != nil || !dueAt.Equal(at(20, 0, 0)) {
		t.Errorf("overdue read at %v (%v), want now", dueAt, err)
	}
}
