// Package testwait is what tests use instead of fixed sleeps: wait for a condition
// with a deadline, and pick a free loopback address.
package testwait

import (
	"net"
	"testing"
	"time"
)

// poll is how often Until asks: often enough for a quick test, rarely enough not to
// load a small machine with queries.
const poll = 50 * time.Millisecond

// Until polls cond until it holds, or fails the test after deadline with what it was
// waiting for and cond's last description of the state.
func Until(t testing.TB, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", deadline, what, state)
		}
		time.Sleep(poll)
	}
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
