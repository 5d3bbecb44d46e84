package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"carebed/alerting"
	apostgres "carebed/alerting/postgres"
	"carebed/internal/devsvc"
	"carebed/internal/testwait"
)

func openLease(t *testing.T, url, holder string, ttl time.Duration) *Lease {
	t.Helper()
	l, err := Open(context.Background(), url, Options{Holder: holder, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func acquire(t *testing.T, l *Lease) bool {
	t.Helper()
	ok, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestOneHolderAtATime: the lease has one holder; its renewals keep it, a release
// hands it over at once, and every change of holder raises the token.
func TestOneHolderAtATime(t *testing.T) {
	ctx := context.Background()
	url := devsvc.StartPostgres(t).NewDatabase(t)
	a, b := openLease(t, url, "gw-a", time.Minute), openLease(t, url, "gw-b", time.Minute)

	if !acquire(t, a) || a.Token() != 1 {
		t.Fatalf("a: acquire on a free lease: token %d", a.Token())
	}
	if acquire(t, b) || b.Token() != 0 {
		t.Fatalf("b took a lease a holds (token %d)", b.Token())
	}
	if err := a.Renew(ctx); err != nil {
		t.Fatalf("a's renewal: %v", err)
	}
	if !acquire(t, a) || a.Token() != 1 {
		t.Fatalf("a acquiring its own live lease changed the token to %d", a.Token())
	}
	if err := b.Renew(ctx); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("b renewed a lease it does not hold: %v", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !acquire(t, b) || b.Token() != 2 {
		t.Fatalf("b after a's release: token %d, want 2", b.Token())
	}
	if err := a.Renew(ctx); !errors.Is(err, ErrNotHeld) || a.Token() != 0 {
		t.Fatalf("a renewed after handing over: %v, token %d", err, a.Token())
	}
}

// TestPausedHolderPagesNobody is the SIGSTOP case at the store: gateway a holds the
// lease and raises an alert; it stops renewing (paused) past the lease's expiry, b
// takes over, and when a wakes and tries to claim the escalation step (what precedes
// every page) the claim is refused and nothing is written; b claims it.
func TestPausedHolderPagesNobody(t *testing.T) {
	ctx := context.Background()
	url := devsvc.StartPostgres(t).NewDatabase(t)
	const ttl = 500 * time.Millisecond
	la, lb := openLease(t, url, "gw-a", ttl), openLease(t, url, "gw-b", ttl)
	sa := openStore(t, url, la)
	sb := openStore(t, url, lb)

	if !acquire(t, la) {
		t.Fatal("a could not take a free lease")
	}
	now := time.Now()
	a, _, err := sa.Raise(ctx, alerting.Raise{Kind: alerting.KindSOS, Sev: alerting.Critical,
		Place:  alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0001"},
		Device: "hj-0001-sos", EventAt: now, Now: now})
	if err != nil {
		t.Fatalf("the holder's raise: %v", err)
	}
	if _, _, err := sb.Raise(ctx, alerting.Raise{Kind: alerting.KindFall, Sev: alerting.Critical,
		Place: alerting.Place{Home: "H-0002"}, Device: "x", EventAt: now, Now: now}); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("the standby's raise: %v, want ErrNotHeld", err)
	}

	// a is paused: no renewals. b takes over once the lease has expired.
	testwait.Until(t, 10*time.Second, "b takes over the expired lease", func() (bool, string) {
		return acquire(t, lb), "a's lease still live"
	})
	if lb.Token() != 2 {
		t.Fatalf("b's token %d, want 2", lb.Token())
	}

	// a wakes up, still believing it holds token 1.
	page := []alerting.Attempt{{PersonID: "p1", Channel: "sms", Purpose: "page"}}
	if _, err := sa.ClaimStep(ctx, a.ID, 0, 0, time.Time{}, now, page); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("the paused gateway's claim: %v, want ErrNotHeld", err)
	}
	if atts, _ := sa.Attempts(ctx, a.ID); len(atts) != 0 {
		t.Fatalf("the paused gateway recorded %+v", atts)
	}
	if _, err := sb.ClaimStep(ctx, a.ID, 0, 0, time.Time{}, now, page); err != nil {
		t.Fatalf("the new holder's claim: %v", err)
	}
	if err := la.Renew(ctx); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("the paused gateway renewed: %v", err)
	}
}

// TestTakeoverWaitsForAFencedWrite: a write that passed the fence holds the lease row
// until it commits, so a takeover cannot slip between the check and the commit.
func TestTakeoverWaitsForAFencedWrite(t *testing.T) {
	ctx := context.Background()
	url := devsvc.StartPostgres(t).NewDatabase(t)
	const ttl = 300 * time.Millisecond
	la, lb := openLease(t, url, "gw-a", ttl), openLease(t, url, "gw-b", ttl)
	if !acquire(t, la) {
		t.Fatal("a could not take a free lease")
	}
	tx, err := la.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // committed below
	if err := la.Fence(ctx, tx); err != nil {
		t.Fatalf("a's fence: %v", err)
	}
	time.Sleep(2 * ttl) // a's lease expires while its write is in flight

	took := make(chan bool, 1)
	go func() {
		ok, err := lb.Acquire(ctx)
		took <- ok && err == nil
	}()
	select {
	case <-took:
		t.Fatal("b took the lease while a's fenced write was still open")
	case <-time.After(500 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ok := <-took:
		if !ok {
			t.Fatal("b did not get the lease after a's write committed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's acquire still waits after a's write committed")
	}
}

// TestOpenNeedsAHolder: a lease without a holder name is refused.
func TestOpenNeedsAHolder(t *testing.T) {
	if _, err := Open(context.Background(), "postgres://127.0.0.1:9/x", Options{}); err == nil {
		t.Fatal("Open without a holder succeeded")
	}
}

func openStore(t *testing.T, url string, l *Lease) *apostgres.Store {
	t.Helper()
	s, err := apostgres.Open(context.Background(), url, apostgres.Options{Fence: l.Fence})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestValidByTheLocalClock: Valid is true only while this gateway holds the lease and
// its last renewal has not run out by its own clock (no database asked), Drop forgets
// the lease at once (the fence refuses after it), and the shared key is one for all.
func TestValidByTheLocalClock(t *testing.T) {
	ctx := context.Background()
	url := devsvc.StartPostgres(t).NewDatabase(t)
	const ttl = 300 * time.Millisecond
	a, b := openLease(t, url, "gw-a", ttl), openLease(t, url, "gw-b", ttl)
	if a.Valid() {
		t.Fatal("valid before any acquire")
	}
	if !acquire(t, a) || !a.Valid() {
		t.Fatal("not valid after taking the lease")
	}
	time.Sleep(ttl + 50*time.Millisecond) // no renewal: the lease runs out here first
	if a.Valid() {
		t.Fatal("still valid after the lease ran out without a renewal")
	}
	if !acquire(t, a) || !a.Valid() {
		t.Fatal("not valid after taking the lease again")
	}
	a.Drop()
	if a.Valid() || a.Token() != 0 {
		t.Fatalf("valid (token %d) after Drop", a.Token())
	}
	ka, err := a.SharedKey(ctx, "link")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.SharedKey(ctx, "link")
	if err != nil {
		t.Fatal(err)
	}
	if len(ka) != 32 || string(ka) != string(kb) {
		t.Fatalf("shared keys differ or are not 32 bytes: %x %x", ka, kb)
	}
}
