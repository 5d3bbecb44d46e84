package spool

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/internal/testlog"
)

// fakeClock is a clock that advances one second per call.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// env is an open spool with its registry and log.
type env struct {
	*Spool
	opt Options
	reg *prometheus.Registry
	log *testlog.Buffer
}

// open opens a spool in dir with test defaults, NoSync among them, to keep tests
// fast on a busy disk; fields of o that are set win.
func open(t testing.TB, dir string, o Options) *env {
	t.Helper()
	o.NoSync = true
	return openSynced(t, dir, o)
}

// openSynced is open without forcing NoSync.
func openSynced(t testing.TB, dir string, o Options) *env {
	t.Helper()
	e := &env{reg: prometheus.NewRegistry(), log: &testlog.Buffer{}}
	o.Dir = dir
	if o.SyncInterval == 0 {
		o.SyncInterval = -1 // sequential appends would each wait for it
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(e.log, nil))
	}
	if o.Registerer == nil {
		o.Registerer = e.reg
	}
	s, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e.Spool, e.opt = s, o
	t.Cleanup(func() { s.Close() })
	return e
}

// reopen closes e and opens its directory again with the same options.
func (e *env) reopen(t testing.TB) *env {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	o := e.opt
	o.Logger, o.Registerer = nil, nil
	return openSynced(t, o.Dir, o)
}

// counter returns the value of one of the spool's counters.
func (e *env) counter(name string) float64 {
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "carebed_spool_"+name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}

// rec returns record i: "rec-000i" padded with dots to size bytes.
func rec(i, size int) []byte {
	b := []byte(fmt.Sprintf("rec-%06d", i))
	for len(b) < size {
		b = append(b, '.')
	}
	return b
}

// appendN appends records from..to-1 of size bytes, one Append each.
func appendN(t testing.TB, s *Spool, from, to, size int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append([][]byte{rec(i, size)}); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// readN reads batches of up to max records until n records have arrived.
func readN(t testing.TB, s *Spool, n, max int) ([]Batch, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var batches []Batch
	var got []string
	for len(got) < n {
		b, err := s.Read(ctx, max, 1<<20)
		if err != nil {
			t.Fatalf("Read after %d records: %v", len(got), err)
		}
		batches = append(batches, b)
		for _, r := range b.Records {
			got = append(got, string(r))
		}
	}
	return batches, got
}

// names returns the record prefixes ("rec-000001") of recs, dropping padding.
func names(recs []string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = strings.TrimRight(r, ".")
	}
	return out
}

// want returns the names of records from..to-1.
func want(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("rec-%06d", i))
	}
	return out
}

// assertEmpty fails unless no record is available to Read right now.
func assertEmpty(t testing.TB, s *Spool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if b, err := s.Read(ctx, 10, 1<<20); err == nil {
		t.Fatalf("Read returned %d more records, want none", len(b.Records))
	}
}
