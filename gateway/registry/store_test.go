package registry

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/internal/sqlitefile/opentest"
)

func TestOpenPragmas(t *testing.T) {
	s := openTest(t)
	tests := []struct{ pragma, want string }{
		{pragma: "journal_mode", want: "wal"},
		{pragma: "synchronous", want: "1"}, // NORMAL
		{pragma: "foreign_keys", want: "1"},
		{pragma: "busy_timeout", want: "5000"},
		{pragma: "user_version", want: strconv.Itoa(len(migrations))},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			var got string
			if err := s.db.SQL().QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil || got != tt.want {
				t.Errorf("PRAGMA %s = %q, %v; want %q", tt.pragma, got, err, tt.want)
			}
		})
	}
}

func TestOpenReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustImport(t, s, "ledger_sample.csv")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Summary(context.Background()); err != nil || n.Devices != 12 {
		t.Errorf("after reopen Summary() = %+v, %v; want 12 devices", n, err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name  string
		path  func(t *testing.T) string
		error string
	}{
		{name: "empty path", path: func(*testing.T) string { return "" }, error: "path must be"},
		{name: "question mark", path: func(t *testing.T) string { return filepath.Join(t.TempDir(), "a?b") }, error: "path must be"},
		{name: "missing folder", path: func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "such", "r.db") }, error: "registry: open"},
		{name: "newer schema", path: newerSchema, error: "newer than this program's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path(t))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.error) {
				t.Errorf("error %q, want it to contain %q", err, tt.error)
			}
		})
	}
}

// newerSchema makes a database whose user_version is ahead of this program's.
func newerSchema(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.db.SQL().Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	return path
}

// Gateways and commands opening one new registry file at once all open it, none
// failing on another's migration (the WAL race itself: sqlitefile's test of the same
// name).
func TestOpenConcurrentlyOnANewFile(t *testing.T) {
	opentest.Concurrently(t, 10, 4, func(path string) (io.Closer, error) { return Open(path) })
}

func TestImportCanceledContext(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Import(ctx, strings.NewReader(string(readTestdata(t, "ledger_sample.csv"))), ImportOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if n, _ := s.Summary(context.Background()); n.Devices != 0 {
			t.Errorf("%d devices imported under a canceled context", n.Devices)
		}
	})
}

func TestDevicesOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		if all, err := s.Devices(context.Background()); err != nil || len(all) != 0 {
			t.Fatalf("empty registry: Devices() = %v, %v", all, err)
		}
		mustImport(t, s, "ledger_sample.csv")
		all, err := s.Devices(context.Background())
		if err != nil || len(all) != 12 {
			t.Fatalf("Devices() = %d devices, %v; want 12", len(all), err)
		}
		if first := all[0]; first.ID != "bh-0020-fall" || first.Place.County != "博湖县" {
			t.Errorf("first device %+v, want bh-0020-fall in 博湖县", first)
		}
	})
}

// TestChangesCountWhatTheLoadReads: every write to what the gateway's registry load
// reads (homes, devices, contacts, credentials) moves the count of changes, whoever
// writes it; the gateway's own frequent writes elsewhere (positions, users, console
// sessions) do not, so an unchanged ledger's refresh can skip the load.
func TestChangesCountWhatTheLoadReads(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		ctx := context.Background()
		s := openTest(t)
		last := int64(-1)
		for _, step := range []struct {
			name  string
			write func() error
			moves bool
		}{
			{"nothing yet", func() error { return nil }, true}, // from -1 to the first count
			{"a ledger imported", func() error {
				_, err := importString(t, s, string(readTestdata(t, "ledger_sample.csv")), ImportOptions{})
				return err
			}, true},
			{"a device's credential issued", func() error {
				return s.SetCredential(ctx, Credential{Principal: "hj-0001-sos", Kind: PrincipalDevice, Hash: "h", Issued: time.Now()})
			}, true},
			{"the credential revoked", func() error { return s.RevokeCredential(ctx, "hj-0001-sos", time.Now()) }, true},
			{"the ledger again, a doctor's phone changed", func() error {
				csv := strings.ReplaceAll(string(readTestdata(t, "ledger_sample.csv")), "13800000002", "13800000022")
				_, err := importString(t, s, csv, ImportOptions{})
				return err
			}, true},
			{"the same ledger again", func() error {
				csv := strings.ReplaceAll(string(readTestdata(t, "ledger_sample.csv")), "13800000002", "13800000022")
				_, err := importString(t, s, csv, ImportOptions{})
				return err
			}, false},
			{"positions saved", func() error {
				return s.SavePositions(ctx, map[string]Position{"hj-0002-sos": {Lat: 42, Lon: 86, At: time.Now(), Received: time.Now()}})
			}, false},
			{"a console user added", func() error {
				return s.PutUser(ctx, User{Name: "duty-1", Display: "值班员", Role: "township", County: "和静县"})
			}, false},
			{"a console session", func() error {
				return s.PutToken(ctx, Token{Hash: "th", User: "duty-1", Kind: "session", Created: time.Now()})
			}, false},
		} {
			if err := step.write(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			n, err := s.Changes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if moved := n != last; moved != step.moves {
				t.Errorf("%s: count %d after %d, moved %v, want %v", step.name, n, last, moved, step.moves)
			}
			last = n
		}
	})
}
