package spool

import (
	"testing"
	"time"
)

// TestAppendShippedWaitsForTheCommit: AppendShippedAsync's callback comes only once a
// Commit covers its records, counting the unshipped records recovered at Open first;
// a later append does not release an earlier one's wait, and Close releases every
// wait with ErrClosed.
func TestAppendShippedWaitsForTheCommit(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, Options{})
	appendN(t, e.Spool, 0, 3, 32) // left unshipped: recovered at the next Open
	e = e.reopen(t)

	results := make(chan int, 10)
	shipped := func(n int) func(error) {
		return func(err error) {
			if err != nil {
				t.Errorf("append %d: %v", n, err)
			}
			results <- n
		}
	}
	for n := 1; n <= 2; n++ {
		if err := e.AppendShippedAsync([][]byte{rec(10+n, 32)}, shipped(n)); err != nil {
			t.Fatal(err)
		}
	}
	none := func(what string) {
		t.Helper()
		select {
		case n := <-results:
			t.Fatalf("append %d released %s", n, what)
		case <-time.After(200 * time.Millisecond): // waiting for something that must not happen
		}
	}
	none("while nothing was shipped")

	batches, _ := readN(t, e.Spool, 4, 4) // the 3 recovered records and append 1
	for _, b := range batches {
		if err := e.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	if n := <-results; n != 1 {
		t.Fatalf("released append %d first, want 1", n)
	}
	none("before its own commit")

	var closed = make(chan error, 1)
	if err := e.AppendShippedAsync([][]byte{rec(20, 32)}, func(err error) { closed <- err }); err != nil {
		t.Fatal(err)
	}
	batches, _ = readN(t, e.Spool, 1, 1)
	if err := e.Commit(batches[0]); err != nil {
		t.Fatal(err)
	}
	if n := <-results; n != 2 {
		t.Fatalf("released append %d, want 2", n)
	}
	time.Sleep(50 * time.Millisecond) // the third is durable and waits
	e.Close()
	select {
	case err := <-closed:
		if err != ErrClosed {
			t.Fatalf("the wait at Close ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close left a wait pending")
	}
}
