package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound sign-in attempts. A login name gets NameBurst attempts at once, then
// one per NameEvery; a client address AddrBurst, then one per AddrEvery. A
// successful sign-in restores the name's allowance.
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

// allow takes one attempt from both the name's and the address's allowance.
func (l *limiter) allow(name, addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	n := get(l.names, name, l.l.NameEvery, l.l.NameBurst, now)
	a := get(l.addrs, addr, l.l.AddrEvery, l.l.AddrBurst, now)
	okN, okA := n.AllowN(now, 1), a.AllowN(now, 1)
	return okN && okA
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
