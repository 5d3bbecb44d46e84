package registry

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden files: go test ./gateway/registry -update
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// openTest opens a registry in a fresh temporary folder, closed when the test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
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
