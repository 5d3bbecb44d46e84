package sqlite

import (
	"path/filepath"
	"testing"

	"carebed/alerting"
	"carebed/alerting/storetest"
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
