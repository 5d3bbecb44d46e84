package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound sign-in attempts. A login name gets NameBurst attempts at once, then
// one per NameEvery; a client address AddrBurst, then one per AddrEvery. Only wrong
// passwords spend an allowance: a refused attempt (429) and a right password spend
// nothing, and a successful sign-in restores the name's allowance.
type Limits struct {
	NameBurst int
	NameEvery time.Duration
	AddrBurst int
	AddrEvery time.Duration
}

// maxTracked bounds the limiter's memory: beyond it, idle entries are dropped.
const maxTracked = 10_000

type limiter struct {
	l     Limits
	now   func() time.Time
	mu    sync.Mutex
	names map[string]*rate.Limiter
	addrs map[string]*rate.Limiter
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	if l.NameBurst <= 0 {
		l.NameBurst, l.NameEvery = 5, 12*time.Second // 5 at once, then 5 a minute
	}
	if l.AddrBurst <= 0 {
		l.AddrBurst, l.AddrEvery = 20, 3*time.Second
	}
	return &limiter{l: l, now: now, names: map[string]*rate.Limiter{}, addrs: map[string]*rate.Limiter{}}
}

// attempt is a sign-in attempt that holds one try of its name's allowance and,
// unless addrOver, one of its address's, until it ends: a wrong password keeps
// them spent, anything else gives them back.
type attempt struct {
	l          *limiter
	name, addr *rate.Reservation
	// addrOver: the address's allowance is spent (by wrong passwords, possibly for
	// other names): only a right password gets through.
	addrOver bool
}

// begin starts an attempt for name from addr. false: the name's allowance is spent;
// refuse at once, without checking the password (an argon2id hash costs 19 MiB
// and tens of milliseconds), and nothing is spent.
func (l *limiter) begin(name, addr string) (attempt, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := attempt{l: l}
	a.name = reserve(get(l.names, name, l.l.NameEvery, l.l.NameBurst, now), now)
	if a.name == nil {
		return a, false
	}
	a.addr = reserve(get(l.addrs, addr, l.l.AddrEvery, l.l.AddrBurst, now), now)
	a.addrOver = a.addr == nil
	return a, true
}

// reserve takes a try from lim now; nil (nothing taken) when none is left.
func reserve(lim *rate.Limiter, now time.Time) *rate.Reservation {
	r := lim.ReserveN(now, 1)
	if !r.OK() || r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return nil
	}
	return r
}

// wrong ends an attempt whose password was wrong: the tries stay spent.
func (a attempt) wrong() {}

// giveBack ends an attempt that was refused for another reason than a wrong
// password, or that succeeded: the tries are given back.
func (a attempt) giveBack() {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	now := a.l.now()
	for _, r := range []*rate.Reservation{a.name, a.addr} {
		if r != nil {
			r.CancelAt(now)
		}
	}
}

// reset restores the name's full allowance after a successful sign-in.
func (l *limiter) reset(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.names, name)
}

func get(m map[string]*rate.Limiter, key string, every time.Duration, burst int, now time.Time) *rate.Limiter {
	if lim, ok := m[key]; ok {
		return lim
	}
	if len(m) >= maxTracked {
		for k, lim := range m { // drop those that have recovered their whole allowance
			if lim.TokensAt(now) >= float64(lim.Burst()) {
				delete(m, k)
			}
		}
	}
	lim := rate.NewLimiter(rate.Every(every), burst)
	lim.SetLimitAt(now, rate.Every(every)) // start the bucket at the injected clock's now
	m[key] = lim
	return lim
}
