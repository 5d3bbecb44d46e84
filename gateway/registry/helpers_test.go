package registry

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carebed/internal/devsvc"
)

// update rewrites the golden files: go test ./gateway/registry -update
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// opener opens a fresh, empty registry, closed when the test ends.
type opener = func(t testing.TB) *Store

// backends are the engines the registry runs on. The tests that open a registry run
// on each (eachBackend), so both pass the same checks.
var backends = []struct {
	name string
	open opener
}{
	{name: "sqlite", open: openTest},
	{name: "postgres", open: openPostgresTest},
}

// eachBackend runs test once per backend, as subtests named after them, with its
// openTest opening a fresh registry on that backend.
func eachBackend(t *testing.T, test func(t *testing.T, openTest opener)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.open) })
	}
}

// sharedPostgres starts one PostgreSQL cluster for the package's test binary, on
// first use; TestMain stops it.
var sharedPostgres, stopPostgres = devsvc.Shared(devsvc.StartPostgres)

func TestMain(m *testing.M) {
	code := m.Run()
	stopPostgres()
	os.Exit(code)
}

// openTest opens a SQLite registry in a fresh temporary folder, closed when the test
// ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, s)
	return s
}

// openPostgresTest opens a registry in a fresh database of the shared PostgreSQL
// cluster, closed when the test ends.
func openPostgresTest(t testing.TB) *Store {
	t.Helper()
	url := sharedPostgres(t).NewDatabase(t)
	s, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, s)
	return s
}

func closeAtEnd(t testing.TB, s *Store) {
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
}

// readTestdata returns a file of testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importString imports a ledger given as text.
func importString(t testing.TB, s *Store, csv string, opts ImportOptions) (ImportReport, error) {
	t.Helper()
	return s.Import(context.Background(), strings.NewReader(csv), opts)
}

// mustImport imports a testdata file and fails the test on any error.
func mustImport(t testing.TB, s *Store, name string) ImportReport {
	t.Helper()
	rep, err := s.Import(context.Background(), bytes.NewReader(readTestdata(t, name)), ImportOptions{})
	if err != nil {
		t.Fatalf("import %s: %v (report %+v)", name, err, rep)
	}
	return rep
}

// list returns what WriteList writes.
func list(t testing.TB, s *Store) string {
	t.Helper()
	var b strings.Builder
	if err := s.WriteList(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// testHeader is the English ledger header used by the inline test ledgers.
const testHeader = "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
	"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n"
