package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carebed/alerting"
	"carebed/alerting/storetest"
	"carebed/internal/devsvc"
	"carebed/internal/pgschema"
)

var t0 = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

var home1 = alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0001"}

// TestConformance runs the alert stores' shared suite against PostgreSQL, each
// subtest in a database of its own on one real cluster.
func TestConformance(t *testing.T) {
	pg := devsvc.StartPostgres(t)
	storetest.Run(t, func(t *testing.T) alerting.Store {
		return open(t, pg.NewDatabase(t), Options{})
	})
}

func open(t *testing.T, url string, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func raiseSOS(ctx context.Context, s *Store) (alerting.Alert, bool, error) {
	return s.Raise(ctx, alerting.Raise{Kind: alerting.KindSOS, Sev: alerting.Critical, Place: home1,
		Device: "hj-0001-sos", EventAt: t0, Now: t0})
}

// TestMigrations: the schema is made at the first Open and kept by the next; a later
// migration is applied once; a gateway older than the database's schema refuses to
// start and says why, changing nothing.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	pg := devsvc.StartPostgres(t)
	url := pg.NewDatabase(t)

	s := open(t, url, Options{})
	a, _, err := raiseSOS(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, url, Options{}) // a restart: no migration runs again, the alert is kept
	if got, err := s.Alert(ctx, a.ID); err != nil || got.Code != a.Code {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}

	version := func() int {
		var v int
		if err := connect(t, url).QueryRow(ctx, `SELECT version FROM schema_versions WHERE component = 'alerting'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := version(); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}

	// A newer gateway adds a migration...
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	newer := append(append([]string(nil), migrations...), `ALTER TABLE alerts ADD COLUMN newer TEXT NOT NULL DEFAULT ''`)
	if err := pgschema.Migrate(ctx, pool, component, newer); err != nil {
		t.Fatal(err)
	}
	if err := pgschema.Migrate(ctx, pool, component, newer); err != nil { // ...once
		t.Fatalf("a migration already applied ran again: %v", err)
	}
	if v := version(); v != len(newer) {
		t.Fatalf("schema version %d after the newer gateway, want %d", v, len(newer))
	}

	// ...and this (older) one must not start on it.
	_, err = Open(ctx, url, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open on a newer schema: %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{fmt.Sprintf("version %d", len(newer)), fmt.Sprintf("up to %d", len(migrations)), "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "carebed:carebed@") {
		t.Errorf("error %q shows the password", err)
	}
	if v := version(); v != len(newer) {
		t.Fatalf("the refused Open changed the schema version to %d", v)
	}
}

// TestConcurrentOpensMigrateOnce: gateways starting together on an empty database
// all start; the advisory lock lets one migrate and the others find it done.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	pg := devsvc.StartPostgres(t)
	url := pg.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(context.Background(), url, Options{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestTwoGatewaysShareOneStore: two stores (two connection pools, as two gateways
// have) on one database, each write raced by several goroutines on both: one alert
// per home and kind, each step claimed once, one acknowledgement wins, one use of a
// link, one taking of an SMS reply.
func TestTwoGatewaysShareOneStore(t *testing.T) {
	ctx := context.Background()
	pg := devsvc.StartPostgres(t)
	url := pg.NewDatabase(t)
	gw := []*Store{open(t, url, Options{}), open(t, url, Options{})}
	const racers = 8

	// race runs f racers times at once, alternating the two gateways, and returns
	// how many calls succeeded; any error but want fails the test.
	race := func(name string, want error, f func(s *Store) error) int {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				err := f(gw[i%2])
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case want == nil || !errors.Is(err, want):
					t.Errorf("%s: %v", name, err)
				}
			})
		}
		close(start)
		wg.Wait()
		return ok
	}

	for round := range 5 {
		place := home1
		place.Home = fmt.Sprintf("H-%04d", round)
		var mu sync.Mutex
		created, ids := 0, map[int64]bool{}
		race("raise", nil, func(s *Store) error {
			a, c, err := s.Raise(ctx, alerting.Raise{Kind: alerting.KindSOS, Sev: alerting.Critical, Place: place,
				Device: "hj-sos", EventAt: t0, Now: t0})
			mu.Lock()
			defer mu.Unlock()
			if c {
				created++
			}
			ids[a.ID] = true
			return err
		})
		if created != 1 || len(ids) != 1 {
			t.Fatalf("round %d: %d raises created an alert, ids %v; want one alert", round, created, ids)
		}
		var id int64
		for id = range ids {
		}
		a, err := gw[0].Alert(ctx, id)
		if err != nil || a.Repeats != racers-1 {
			t.Fatalf("round %d: %+v, %v; want %d repeats", round, a, err, racers-1)
		}

		if n := race("claim", alerting.ErrClaimed, func(s *Store) error {
			_, err := s.ClaimStep(ctx, id, 0, 0, t0.Add(time.Minute), t0,
				[]alerting.Attempt{{PersonID: "p1", Channel: "sms", Purpose: "page"}})
			return err
		}); n != 1 {
			t.Fatalf("round %d: step 0 claimed %d times", round, n)
		}
		if atts, _ := gw[1].Attempts(ctx, id); len(atts) != 1 {
			t.Fatalf("round %d: %d attempts, want 1", round, len(atts))
		}

		link := fmt.Sprintf("link-%d", round)
		if err := gw[0].CreateLink(ctx, alerting.Link{ID: link, AlertID: id, PersonID: "p1", Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if n := race("use link", alerting.ErrLinkUsed, func(s *Store) error {
			_, err := s.UseLink(ctx, link, t0.Add(time.Second))
			return err
		}); n != 1 {
			t.Fatalf("round %d: link used %d times", round, n)
		}

		sid := fmt.Sprintf("SM%d", round)
		if n := race("seen", errNotFirst, func(s *Store) error {
			first, err := s.SeenMessage(ctx, sid, t0)
			if err == nil && !first {
				err = errNotFirst
			}
			return err
		}); n != 1 {
			t.Fatalf("round %d: reply %s taken %d times", round, sid, n)
		}

		if n := race("ack", alerting.ErrAcknowledged, func(s *Store) error {
			_, err := s.Ack(ctx, id, "p1", "sms", t0.Add(time.Minute))
			return err
		}); n != 1 {
			t.Fatalf("round %d: acknowledged %d times", round, n)
		}
	}
}

var errNotFirst = errors.New("not the first")

// TestFenceStopsWrites: a fence that refuses (a gateway that lost its lease) rolls
// every write back: nothing is stored and nothing reaches the feed.
func TestFenceStopsWrites(t *testing.T) {
	ctx := context.Background()
	pg := devsvc.StartPostgres(t)
	url := pg.NewDatabase(t)
	errFenced := errors.New("fenced: not the lease holder")
	var mu sync.Mutex
	fenced := false
	s := open(t, url, Options{Fence: func(ctx context.Context, tx pgx.Tx) error {
		mu.Lock()
		defer mu.Unlock()
		if fenced {
			return errFenced
		}
		return nil
	}})
	var changes []alerting.Change
	s.Subscribe(func(c alerting.Change) { changes = append(changes, c) })
	a, _, err := raiseSOS(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	fenced = true
	mu.Unlock()
	if _, err := s.ClaimStep(ctx, a.ID, 0, 0, time.Time{}, t0, []alerting.Attempt{{PersonID: "p1", Channel: "sms", Purpose: "page"}}); !errors.Is(err, errFenced) {
		t.Fatalf("claim while fenced: %v", err)
	}
	if _, err := s.Ack(ctx, a.ID, "p1", "sms", t0); !errors.Is(err, errFenced) {
		t.Fatalf("ack while fenced: %v", err)
	}
	if err := s.Reschedule(ctx, a.ID, 0, t0.Add(time.Hour)); !errors.Is(err, errFenced) {
		t.Fatalf("reschedule while fenced: %v", err)
	}
	got, _ := s.Alert(ctx, a.ID)
	atts, _ := s.Attempts(ctx, a.ID)
	step, at, _ := s.NextStep(ctx, a.ID)
	if got.State != alerting.StateOpen || len(atts) != 0 || step != 0 || !at.Equal(t0) || len(changes) != 1 {
		t.Fatalf("fenced writes left a trace: %+v, attempts %+v, next step %d at %v, changes %d", got, atts, step, at, len(changes))
	}
}

// TestSeenMessageRemembersAcrossRestartAndPrunes: as alerting/sqlite's test.
func TestSeenMessageRemembersAcrossRestartAndPrunes(t *testing.T) {
	ctx := context.Background()
	pg := devsvc.StartPostgres(t)
	url := pg.NewDatabase(t)
	s := open(t, url, Options{})
	steps := []struct {
		sid   string
		at    time.Time
		first bool
	}{
		{"SM1", t0, true},
		{"SM1", t0.Add(time.Minute), false},
		{"SM2", t0.Add(time.Hour), true},
		{"SM1", t0.Add(alerting.ReplyRetention - time.Hour), false},
		{"SM3", t0.Add(alerting.ReplyRetention + time.Minute), true}, // prunes SM1 (seen at t0)
		{"SM2", t0.Add(alerting.ReplyRetention + time.Minute), false},
		{"SM1", t0.Add(alerting.ReplyRetention + 2*time.Minute), true}, // forgotten after retention
	}
	for i, st := range steps {
		if i == 3 { // a restart in the middle
			s.Close()
			s = open(t, url, Options{})
		}
		first, err := s.SeenMessage(ctx, st.sid, st.at)
		if err != nil || first != st.first {
			t.Fatalf("step %d: SeenMessage(%s) = %v, %v; want %v", i, st.sid, first, err, st.first)
		}
	}
	if err := s.ForgetMessage(ctx, "SM2"); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.SeenMessage(ctx, "SM2", t0.Add(alerting.ReplyRetention+3*time.Minute)); !first {
		t.Error("a forgotten sid is still remembered")
	}
}
