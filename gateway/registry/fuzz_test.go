package registry

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzImport feeds arbitrary bytes to Import. It must not panic, and its reports must
// add up: every data row is either counted once or reported once, a file with bad rows
// imports nothing without SkipBad, and importing the same bytes again changes nothing.
//
// Coverage-guided fuzzing of this target crawls (go test -fuzz instruments the whole
// transpiled SQLite); FuzzRead in internal/ledger fuzzes the parsing at full speed.
// For this one, fuzz an uninstrumented binary:
//
//	go test -c -o /tmp/registry.test ./gateway/registry
//	(cd gateway/registry && /tmp/registry.test -test.run '^$' -test.fuzz FuzzImport -test.fuzztime 60s -test.fuzzcachedir /tmp/fuzz)
func FuzzImport(f *testing.F) {
	for _, name := range []string{"ledger_sample.csv", "ledger_en.csv", "ledger_bad.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(testHeader + "且末县,且末镇,A村,H-1,,,38.1,85.5,qm-1,sos_pendant,,,,,13800000001\n"))
	f.Add([]byte(testHeader + "且末县,且末镇,A村,H-1,,,,,qm-1,sos_pendant,,,,,\"1;2\"\n,,\n"))
	f.Add([]byte("\ufeff\"county\",x\n"))
	s, err := Open(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		strict := fuzzImport(t, s, data, false)
		first := fuzzImport(t, s, data, true)
		if len(strict.Errors) > 0 && strict.Imported+strict.Updated+strict.Unchanged != 0 {
			t.Fatalf("strict import of a bad file counted rows: %+v", strict)
		}
		if !slices.Equal(strict.Errors, first.Errors) || strict.Rows != first.Rows {
			t.Fatalf("SkipBad changed the errors: %+v vs %+v", strict, first)
		}
		again := fuzzImport(t, s, data, true)
		good := first.Imported + first.Updated + first.Unchanged
		if again.Imported != 0 || again.Updated != 0 || again.Unchanged != good {
			t.Fatalf("re-import not idempotent: first %+v, again %+v", first, again)
		}
	})
}

// fuzzImport imports data and checks the report adds up.
func fuzzImport(t *testing.T, s *Store, data []byte, skipBad bool) ImportReport {
	rep, err := s.Import(context.Background(), bytes.NewReader(data), ImportOptions{SkipBad: skipBad})
	if err != nil && !errors.Is(err, ErrBadRows) {
		t.Fatalf("Import: %v", err)
	}
	if errors.Is(err, ErrBadRows) != (len(rep.Errors) > 0 && (!skipBad || rep.Rows == 0)) {
		t.Fatalf("error %v does not match report %+v", err, rep)
	}
	for _, e := range rep.Errors {
		if e.Line < 1 || e.Reason == "" {
			t.Fatalf("bad RowError %+v", e)
		}
	}
	counted := rep.Imported + rep.Updated + rep.Unchanged + len(rep.Errors)
	headerOnly := rep.Rows == 0 && len(rep.Errors) == 1 && rep.Errors[0].Line == 1
	if counted != rep.Rows && !headerOnly && !(err != nil && !skipBad) {
		t.Fatalf("report does not add up: %+v", rep)
	}
	return rep
}
