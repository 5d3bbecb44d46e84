package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"carebed/internal/pgschema"
)

// openPostgresURL opens a registry on an existing database, closed at the test's end.
func openPostgresURL(t *testing.T, url string) *Store {
	t.Helper()
	s, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, s)
	return s
}

// TestPostgresConcurrentImports: two gateways sharing the database import ledgers at
// the same time, one the other's rows in reverse order; the imports queue on the
// registry's write lock, so none fails (no deadlock between the two orders), each
// device counts as new exactly once, and the registry ends as after one import.
func TestPostgresConcurrentImports(t *testing.T) {
	url := sharedPostgres(t).NewDatabase(t)
	a, b := openPostgresURL(t, url), openPostgresURL(t, url)
	ledger := readTestdata(t, "ledger_sample.csv")
	lines := strings.Split(strings.TrimSuffix(string(ledger), "\n"), "\n")
	slices.Reverse(lines[1:])
	reversed := strings.Join(lines, "\n") + "\n"
	var wg sync.WaitGroup
	reps := make([]ImportReport, 8)
	errs := make([]error, len(reps))
	for i := range reps {
		s, l := a, ledger
		if i%2 == 1 {
			s, l = b, []byte(reversed)
		}
		wg.Go(func() {
			reps[i], errs[i] = s.Import(context.Background(), bytes.NewReader(l), ImportOptions{})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	imported := 0
	for _, r := range reps {
		imported += r.Imported
	}
	if imported != 12 {
		t.Errorf("devices imported as new %d times in all, want 12 (each once): %+v", imported, reps)
	}
	want := list(t, openTestWith(t, ledger))
	if got := list(t, a); got != want {
		t.Errorf("after concurrent imports:\n%s\nwant (one import on SQLite):\n%s", got, want)
	}
}

// openTestWith opens a SQLite registry holding ledger.
func openTestWith(t *testing.T, ledger []byte) *Store {
	s := openTest(t)
	if _, err := s.Import(context.Background(), bytes.NewReader(ledger), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPostgresMigrations: the schema is made at the first open and kept by the next;
// a database migrated by a newer gateway is refused, and nothing is changed.
func TestPostgresMigrations(t *testing.T) {
	ctx := context.Background()
	url := sharedPostgres(t).NewDatabase(t)
	s := openPostgresURL(t, url)
	mustImport(t, s, "ledger_sample.csv")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPostgresURL(t, url)
	if n, err := s.Summary(ctx); err != nil || n.Devices != 12 {
		t.Fatalf("after reopening: %+v, %v; want 12 devices", n, err)
	}

	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if v, err := pgschema.Version(ctx, c, pgComponent); err != nil || v != len(pgMigrations) {
		t.Fatalf("registry schema version %d, %v; want %d", v, err, len(pgMigrations))
	}
	newer := len(pgMigrations) + 1
	if _, err := c.Exec(ctx, `UPDATE schema_versions SET version = $1 WHERE component = $2`, newer, pgComponent); err != nil {
		t.Fatal(err)
	}
	if s2, err := OpenPostgres(ctx, url); !errors.Is(err, pgschema.ErrNewerSchema) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("opening a newer schema: %v, want ErrNewerSchema", err)
	}
	if v, _ := pgschema.Version(ctx, c, pgComponent); v != newer {
		t.Errorf("version after the refusal %d, want %d (unchanged)", v, newer)
	}
}

// TestPostgresOrdersLikeSQLite: lists come out in SQLite's (byte) order even in a
// database whose default collation sorts Chinese by pinyin.
func TestPostgresOrdersLikeSQLite(t *testing.T) {
	ctx := context.Background()
	pg := sharedPostgres(t)
	c, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS pinyin`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `CREATE DATABASE pinyin TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'zh' LOCALE 'C'`); err != nil {
		t.Skipf("no ICU collation in this PostgreSQL: %v", err)
	}
	u, err := neturl.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/pinyin"
	url := u.String()
	ledger := readTestdata(t, "ledger_sample.csv")
	s := openPostgresURL(t, url)
	mustImport(t, s, "ledger_sample.csv")
	if got, want := list(t, s), list(t, openTestWith(t, ledger)); got != want {
		t.Errorf("PostgreSQL list:\n%s\nSQLite list:\n%s", got, want)
	}
}

// TestPostgresAdoptsSQLiteRegistry: the first open on PostgreSQL of a site whose
// registry was in SQLite copies everything over (places, homes with their care and
// mobile columns, contacts, devices, credentials, users, sessions, responder ids,
// positions), once: a later open copies nothing, and the file is left as it was.
func TestPostgresAdoptsSQLiteRegistry(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	old, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustImport(t, old, "ledger_sample.csv")
	at := time.UnixMilli(1764403200000)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(old.PutUser(ctx, User{Name: "duty-1", Display: "值班", Role: "township_duty", County: "和静县", PasswordHash: "h", Created: at}))
	must(old.PutToken(ctx, Token{Hash: "tok", User: "duty-1", Kind: TokenSession, Created: at, Expires: at.Add(time.Hour)}))
	must(old.SetCredential(ctx, Credential{Principal: "hj-0001-sos", Kind: "device", Hash: "pbkdf2", Issued: at}))
	must(old.RevokeCredential(ctx, "hj-0001-sos", at.Add(time.Minute)))
	rid, err := old.ResponderID(ctx, "+8613800000009")
	must(err)
	must(old.SavePositions(ctx, map[string]Position{"hj-0001-sos": {Lat: 42.1, Lon: 86.2, AccM: 15, At: at, Received: at}}))
	snapshot := func(s *Store) string {
		t.Helper()
		var b strings.Builder
		b.WriteString(list(t, s))
		for _, f := range []func() (any, error){
			func() (any, error) { return s.CareAll(ctx) },
			func() (any, error) { return s.AllContacts(ctx) },
			func() (any, error) { return s.Credentials(ctx) },
			func() (any, error) { return s.Users(ctx) },
			func() (any, error) { return s.Positions(ctx) },
			func() (any, error) { return s.Devices(ctx) },
		} {
			v, err := f()
			must(err)
			fmt.Fprintf(&b, "%+v\n", v)
		}
		return b.String()
	}
	want := snapshot(old)
	must(old.Close())

	url := sharedPostgres(t).NewDatabase(t)
	s, adopted, err := OpenConfigured(ctx, path, url)
	must(err)
	closeAtEnd(t, s)
	if adopted == 0 {
		t.Fatal("nothing copied from the SQLite registry")
	}
	if got := snapshot(s); got != want {
		t.Errorf("on PostgreSQL:\n%s\nin SQLite:\n%s", got, want)
	}
	if u, err := s.TokenUser(ctx, "tok", at); err != nil || u.Name != "duty-1" {
		t.Errorf("session copied: %+v, %v", u, err)
	}
	if id, err := s.ResponderID(ctx, "+8613800000009"); err != nil || id != rid {
		t.Errorf("responder id %q, %v; want the same %q", id, err, rid)
	}
	s2, again, err := OpenConfigured(ctx, path, url)
	must(err)
	closeAtEnd(t, s2)
	if again != 0 {
		t.Errorf("copied %d rows again at the second open", again)
	}
	if got := snapshot(s2); got != want {
		t.Errorf("after the second open:\n%s\nwant:\n%s", got, want)
	}
	if _, err := s2.CopyFrom(ctx, s); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("copy into a registry that is not empty: %v, want ErrNotEmpty", err)
	}
}
