package sqlite

import (
	"io"
	"path/filepath"
	"testing"

	"carebed/alerting"
	"carebed/alerting/storetest"
	"carebed/internal/sqlitefile/opentest"
)

// TestConformance runs the alert stores' shared suite against SQLite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) alerting.Store {
		s, err := Open(filepath.Join(t.TempDir(), "alerts.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Two processes (the gateway and a command) opening a new alert store at once both
// open it (the WAL race itself: sqlitefile's TestOpenConcurrentlyOnANewFile).
func TestOpenConcurrentlyOnANewFile(t *testing.T) {
	opentest.Concurrently(t, 30, 4, func(path string) (io.Closer, error) { return Open(path) })
}
