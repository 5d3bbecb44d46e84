package devsvc

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Shared starts a service once for a whole test binary, for the packages whose tests
// each want a fresh database but not a fresh server (one PostgreSQL cluster, a new
// database per test by NewDatabase). The first call of get starts the service with
// start (StartPostgres, say) under a testing.TB that lives until stop; later calls
// return the same one. A failure to start fails, and a missing binary skips, the test
// that called get (and every later one), as Require does. TestMain calls stop after
// m.Run: it stops the service and removes its folders.
func Shared[S any](start func(testing.TB) S) (get func(t testing.TB) S, stop func()) {
	var (
		once sync.Once
		s    S
		tb   = &mainTB{}
	)
	get = func(t testing.TB) S {
		t.Helper()
		once.Do(func() { s = runShared(tb, start) })
		switch {
		case tb.skipped != "":
			if os.Getenv("CI") != "" {
				t.Fatalf("%s (CI is set: a missing service is a failure)", tb.skipped)
			}
			t.Skip(tb.skipped)
		case tb.fatal != "":
			t.Fatalf("shared service: %s\n%s", tb.fatal, strings.Join(tb.logs, "\n"))
		}
		return s
	}
	return get, tb.stop
}

// mainTB is the testing.TB a shared service is started with: it outlives every test
// and runs its cleanups at stop. Only the methods the starters of this package call
// are implemented (the embedded nil TB panics on the others).
type mainTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	logs     []string
	fatal    string
	skipped  string
	failed   bool
}

// errFatal unwinds a starter that called Fatal or Skip.
var errFatal = errors.New("devsvc: shared start stopped")

// runShared calls start with tb, turning its Fatal or Skip into tb.fatal or
// tb.skipped; the cleanups it registered so far run at stop in either case.
func runShared[S any](tb *mainTB, start func(testing.TB) S) (s S) {
	defer func() {
		if r := recover(); r != nil && r != errFatal { //nolint:errorlint // our own sentinel
			panic(r)
		}
	}()
	return start(tb)
}

func (tb *mainTB) Helper() {}

func (tb *mainTB) Name() string { return "devsvc.Shared" }

func (tb *mainTB) Logf(format string, args ...any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.logs = append(tb.logs, fmt.Sprintf(format, args...))
}

func (tb *mainTB) Log(args ...any) { tb.Logf("%s", fmt.Sprint(args...)) }

func (tb *mainTB) Errorf(format string, args ...any) {
	tb.Logf(format, args...)
	tb.mu.Lock()
	tb.failed = true
	tb.mu.Unlock()
}

func (tb *mainTB) Error(args ...any) { tb.Errorf("%s", fmt.Sprint(args...)) }

func (tb *mainTB) Fatalf(format string, args ...any) {
	tb.fatal = fmt.Sprintf(format, args...)
	tb.failed = true
	panic(errFatal)
}

func (tb *mainTB) Fatal(args ...any) { tb.Fatalf("%s", fmt.Sprint(args...)) }

func (tb *mainTB) Skipf(format string, args ...any) {
	tb.skipped = fmt.Sprintf(format, args...)
	panic(errFatal)
}

func (tb *mainTB) Skip(args ...any) { tb.Skipf("%s", fmt.Sprint(args...)) }

func (tb *mainTB) Failed() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.failed
}

func (tb *mainTB) Cleanup(f func()) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.cleanups = append(tb.cleanups, f)
}

// TempDir makes a new folder, removed at stop.
func (tb *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "devsvc-shared")
	if err != nil {
		tb.Fatalf("devsvc: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// stop runs the cleanups, last registered first, and prints the logs to stderr when
// one of them reported an error.
func (tb *mainTB) stop() {
	tb.mu.Lock()
	cs := slices.Clone(tb.cleanups)
	tb.cleanups = nil
	tb.mu.Unlock()
	for _, f := range slices.Backward(cs) {
		f()
	}
	if tb.Failed() {
		fmt.Fprintln(os.Stderr, strings.Join(tb.logs, "\n"))
	}
}
