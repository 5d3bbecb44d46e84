package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"carebed/alerting/notify"
	"carebed/gateway/ingest"
	"carebed/gateway/lease"
	"carebed/gateway/spool"
)

// pair is a gateway's side of an active/standby pair (config pair.enabled): the lease
// in PostgreSQL says which of the two is active. Only the active one connects to the
// broker with the shared client id, runs the alert rules and the escalation, and
// writes alerts; the standby serves reads and waits to take the lease over.
type pair struct {
	lease  *lease.Lease
	active atomic.Bool

	mu   sync.Mutex
	stop context.CancelFunc // ends the current active term; nil while standby
}

// errStandby refuses what only the active gateway may do.
var errStandby = errors.New("this gateway is the standby of a pair; the active one does this")

// openPair opens the lease when the pair mode is on.
func (g *Gateway) openPair(ctx context.Context) error {
	pc := g.cfg.Pair
	if !pc.Enabled {
		return nil
	}
	l, err := lease.Open(ctx, g.cfg.Database.URL, lease.Options{Holder: pc.Holder, TTL: pc.LeaseTTL})
	if err != nil {
		return fmt.Errorf("pair: %w", err)
	}
	g.pair = &pair{lease: l}
	g.closers = append(g.closers, func() error { l.Close(); return nil })
	return nil
}

// fence is the alert store's Options.Fence in the pair mode: a write of a gateway
// that does not hold the lease is refused, and the gateway stops acting as active.
func (p *pair) fence(ctx context.Context, tx pgx.Tx) error {
	err := p.lease.Fence(ctx, tx)
	if errors.Is(err, lease.ErrNotHeld) {
		p.stepDown()
	}
	return err
}

// stepDown makes the gateway stop acting as active at once: no write passes the
// fence any more, and the active term ends (broker disconnected, escalation stopped).
func (p *pair) stepDown() {
	p.lease.Drop()
	p.active.Store(false) // /readyz and carebed_active say so while the term winds down
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		p.stop()
	}
}

// isActive reports whether this gateway is active: always outside the pair mode.
func (g *Gateway) isActive() bool { return g.pair == nil || g.pair.active.Load() }

// mayConnect is asked before every connection to the broker: only the holder of a
// live lease connects with the shared client id.
func (g *Gateway) mayConnect() bool { return g.pair == nil || g.pair.lease.Valid() }

// runPair alternates between standby (waiting for the lease) and active terms until
// ctx ends.
func (g *Gateway) runPair(ctx context.Context) error {
	for {
		g.log.Info("standby: waiting for the lease", "holder", g.cfg.Pair.Holder)
		if !g.waitLease(ctx) {
			return nil
		}
		if err := g.activeTerm(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		g.log.Warn("lost the lease: stepped down to standby; the other gateway pages now")
	}
}

// waitLease tries to take the lease every TTL/5 until it holds it (true) or ctx
// ends (false).
func (g *Gateway) waitLease(ctx context.Context) bool {
	t := time.NewTicker(g.cfg.Pair.LeaseTTL / 5)
	defer t.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, g.cfg.Pair.LeaseTTL/3)
		ok, err := g.pair.lease.Acquire(actx)
		cancel()
		if ok {
			return true
		}
		if err != nil && ctx.Err() == nil {
			g.log.Warn("taking the lease failed; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// activeTerm runs the gateway as the active one until ctx ends (a graceful stop:
// the lease is handed over at once) or the lease is lost.
func (g *Gateway) activeTerm(ctx context.Context) error {
	p := g.pair
	term, stop := context.WithCancel(ctx)
	defer stop()
	p.mu.Lock()
	p.stop = stop
	p.mu.Unlock()
	p.active.Store(true)
	g.log.Info("took the lease: active", "holder", g.cfg.Pair.Holder, "token", p.lease.Token())
	// What the previous active saved: the rules' per-device state (escalation
	// timers, links and receipts are read from the shared store as they are needed).
	if err := g.restoreConditions(g.alerts); err != nil {
		g.log.Error("alert conditions not restored; their timers restart now", "err", err)
	}
	renewed := make(chan struct{})
	go func() { g.renew(term); close(renewed) }()
	err := g.runActive(term, term)
	stop()
	<-renewed
	p.mu.Lock()
	p.stop = nil
	p.mu.Unlock()
	if ctx.Err() != nil && p.lease.Token() != 0 { // a graceful stop, still the holder
		g.saveConditions()
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if rerr := p.lease.Release(rctx); rerr != nil {
			g.log.Warn("handing the lease over; the standby takes it when it runs out", "err", rerr)
		}
		cancel()
	}
	p.lease.Drop()
	p.active.Store(false)
	return err
}

// renew renews the lease every TTL/3 until ctx ends; a failed renewal ends the term.
func (g *Gateway) renew(ctx context.Context) {
	ttl := g.cfg.Pair.LeaseTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, ttl/3)
		err := g.pair.lease.Renew(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			g.log.Error("renewing the lease failed: stepping down", "err", err)
			g.pair.stepDown()
			return
		}
	}
}

// ingestSpool is where the ingest hands messages off before their acknowledgement:
// the spool, durable on this machine's disk; in the pair mode the spool and then
// InfluxDB (shippedSpool), so the acknowledgement survives the machine.
func (g *Gateway) ingestSpool() ingest.Spool {
	if g.pair == nil {
		return g.spool
	}
	return shippedSpool{g.spool}
}

// shippedSpool calls done once the records are shipped to InfluxDB (spool
// AppendShippedAsync): until then the broker keeps the messages for the pair.
type shippedSpool struct{ *spool.Spool }

func (s shippedSpool) AppendAsync(recs [][]byte, done func(error)) error {
	return s.AppendShippedAsync(recs, done)
}

// activeOnly hands a notification to the provider only while this gateway's lease
// is live by its own clock: a gateway paused after claiming a page and woken after
// the takeover sends nothing (the new active found the page in flight and sent it).
type activeOnly struct {
	notify.Notifier
	p *pair
}

func (a activeOnly) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	if !a.p.lease.Valid() {
		a.p.stepDown()
		return notify.Receipt{}, false, errStandby
	}
	return a.Notifier.Notify(ctx, n)
}

// activeOnlyFinder is activeOnly for a notifier that can find what it sent.
type activeOnlyFinder struct {
	activeOnly
	notify.Finder
}

func (a activeOnlyFinder) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	return a.activeOnly.Notify(ctx, n)
}

// guardNotifiers wraps every notifier in activeOnly in the pair mode.
func (g *Gateway) guardNotifiers(ns map[string]notify.Notifier) {
	if g.pair == nil {
		return
	}
	for ch, n := range ns {
		ao := activeOnly{Notifier: n, p: g.pair}
		if f, ok := n.(notify.Finder); ok {
			ns[ch] = activeOnlyFinder{activeOnly: ao, Finder: f}
		} else {
			ns[ch] = ao
		}
	}
}

// activeMetric exports carebed_active.
func (g *Gateway) activeMetric() error {
	return g.o.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carebed_active",
		Help: "1 while this gateway is the active one (always outside the pair mode), 0 while it is the standby of a pair."},
		func() float64 {
			if g.isActive() {
				return 1
			}
			return 0
		}))
}

// standbyWrites refuses on the standby every request that would change something
// (acknowledge, resolve, hand over, record a visit, an inbound SMS or a delivery
// receipt from Twilio) with 503 and a clear message; reads, and signing in and out,
// are served by both.
func (g *Gateway) standbyWrites(next http.Handler) http.Handler {
	if g.pair == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.isActive() || readOnly(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "这是备用网关，不能在这里操作；请稍后重试，或打开主用网关。\n"+
			"This is the standby gateway of a pair: changes are made on the active one. Try again shortly.")
	})
}

// readOnly: requests either gateway of a pair may serve.
func readOnly(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	switch r.URL.Path {
	case "/api/v1/login", "/api/v1/logout", "/console/login", "/console/logout":
		return true // sessions are each gateway's own (docs/scaling.md)
	}
	return false
}
