package devsvc

import (
	"os"
	"testing"
)

// TestShared: the service starts once, at the first get, keeps running across tests
// (its cleanups wait for stop), and a start that skips skips every test that asks.
func TestShared(t *testing.T) {
	starts, stopped := 0, false
	var dir string
	get, stop := Shared(func(tb testing.TB) int {
		starts++
		dir = tb.TempDir()
		tb.Cleanup(func() { stopped = true })
		return 42
	})
	for range 2 {
		t.Run("user", func(t *testing.T) {
			if v := get(t); v != 42 {
				t.Errorf("get = %d, want 42", v)
			}
		})
	}
	if starts != 1 || stopped {
		t.Fatalf("after two tests: %d starts, stopped %v; want 1 start, still running", starts, stopped)
	}
	stop()
	if _, err := os.Stat(dir); !stopped || !os.IsNotExist(err) {
		t.Errorf("after stop: stopped %v, folder %v; want stopped and the folder removed", stopped, err)
	}

	t.Setenv("CI", "")
	getMissing, stopMissing := Shared(func(tb testing.TB) int {
		tb.Skipf("no such service")
		return 0
	})
	defer stopMissing()
	for range 2 {
		skipped := false
		t.Run("missing", func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			getMissing(t)
		})
		if !skipped {
			t.Error("a test asking for a missing service was not skipped")
		}
	}
}
