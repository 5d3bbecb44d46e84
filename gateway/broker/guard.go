package broker

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits bound what connections that have not yet authenticated may hold, so that
// nobody without a password can exhaust the gateway's memory or crowd out devices.
// The packet size is bounded separately (brokerauth.MaxPacketSize), before a packet's
// body is read.
type Limits struct {
	// MaxConnecting is how many connections may be between accept and a successful
	// CONNECT (TLS handshake, CONNECT packet, password check) at once; more wait
	// (MaxWaiting) or are closed at accept.
	MaxConnecting int
	// MaxConnectingPerAddress is that bound for one remote IP address, so a flood
	// from one address leaves room for everyone else.
	MaxConnectingPerAddress int
	// MaxConnectionsPerAddress bounds all open connections of one IP address,
	// authenticated or not (devices behind one NAT share an address: be generous).
	MaxConnectionsPerAddress int
	// ConnectTimeout is how long a new connection has to complete its CONNECT,
	// counted from its accept (a wait for a connecting slot included).
	ConnectTimeout time.Duration
	// MaxWaiting is how many connections may wait, unread, for a connecting slot
	// when MaxConnecting or MaxConnectingPerAddress binds, instead of being closed
	// at accept; one address may hold half of them. A township's devices coming
	// back at once (behind a carrier's few NAT addresses, or faster than the
	// handshakes finish) then connect as slots free up rather than back off for up
	// to 30 s. A waiting connection is not read, and its socket's receive buffer is
	// shrunk to waitingReadBuffer until it is let in.
	MaxWaiting int
}

// waitingReadBuffer is a waiting socket's receive buffer (the kernel doubles it):
// room for a ClientHello or a CONNECT, about 9 KiB of kernel memory where an unread
// socket would otherwise hold 128 KiB of whatever its client sends. A socket let in
// gets admittedReadBuffer.
const (
	waitingReadBuffer  = 4 << 10
	admittedReadBuffer = 64 << 10
)

// DefaultLimits are the limits when Options.Limits is zero: at most 256 connections
// connecting (about 18 MB of packet bodies at the largest packet), 64 of them from
// one address, 20,000 connections per address (devices behind a carrier's NAT), 10 s
// to connect, 4,096 waiting for a connecting slot (2,048 from one address).
func DefaultLimits() Limits {
	return Limits{MaxConnecting: 256, MaxConnectingPerAddress: 64, MaxConnectionsPerAddress: 20_000,
		ConnectTimeout: 10 * time.Second, MaxWaiting: 4096}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxConnecting <= 0 {
		l.MaxConnecting = d.MaxConnecting
	}
	if l.MaxConnectingPerAddress <= 0 {
		l.MaxConnectingPerAddress = d.MaxConnectingPerAddress
	}
	if l.MaxConnectionsPerAddress <= 0 {
		l.MaxConnectionsPerAddress = d.MaxConnectionsPerAddress
	}
	if l.ConnectTimeout <= 0 {
		l.ConnectTimeout = d.ConnectTimeout
	}
	if l.MaxWaiting <= 0 {
		l.MaxWaiting = d.MaxWaiting
	}
	return l
}

// maxWaitingPerAddress is how many of the waiting connections one address may hold.
func (l Limits) maxWaitingPerAddress() int { return max(1, l.MaxWaiting/2) }

// Reasons a connection is refused by the guard (label reason of
// carebed_broker_refused_total) or closed after it connected (disconnected_total).
const (
	refusedBusy        = "too_many_connecting"
	refusedAddrBusy    = "too_many_from_address"
	refusedTimeout     = "connect_timeout"
	refusedPacketLarge = "packet_too_large"
)

// guard is the broker's listener with the Limits. A connection over a connecting
// bound waits, unread, for a slot in a bounded waiting room; one over any other
// limit, or finding the room full, is closed at accept, before anything is read.
type guard struct {
	ln                  net.Listener
	lim                 Limits
	refused, disconnect *prometheus.CounterVec
	log                 *slog.Logger

	mu         sync.Mutex
	handle     func(net.Conn) error // serve's, for the connections let in from waiting
	connecting int
	perAddr    map[string]*addrCount
	live       map[*guardedConn]struct{} // admitted and not closed
	waiting    []waiter                  // oldest first
	end        atomic.Bool
	done       chan struct{} // closed by close: the sweeper ends
	wg         sync.WaitGroup
}

// addrCount is what one remote address holds: connections admitted (open), those
// of them connecting, and those waiting for a connecting slot.
type addrCount struct{ open, connecting, waiting int }

// waiter is an accepted connection waiting for a connecting slot until its deadline;
// count is its address's entry in perAddr, kept while the address has waiters.
type waiter struct {
	conn  net.Conn
	addr  string
	count *addrCount
	until time.Time
}

func newGuard(ln net.Listener, lim Limits, refused, disconnect *prometheus.CounterVec, log *slog.Logger) *guard {
	g := &guard{ln: ln, lim: lim, refused: refused, disconnect: disconnect, log: log, perAddr: map[string]*addrCount{},
		live: map[*guardedConn]struct{}{}, done: make(chan struct{})}
	g.wg.Add(1)
	go g.sweep()
	return g
}

// serve accepts connections until close, admitting those within the limits and
// running handle on each in a goroutine of its own.
func (g *guard) serve(handle func(net.Conn) error) {
	g.mu.Lock()
	g.handle = handle
	g.mu.Unlock()
	for {
		conn, err := g.ln.Accept()
		if g.end.Load() {
			if err == nil {
				conn.Close()
			}
			return
		}
		if err != nil {
			g.log.Warn("accept failed", "err", err)
			time.Sleep(100 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		gc, reason := g.admit(conn)
		switch {
		case gc != nil:
			go g.run(gc, handle)
		case reason == waiting:
		case reason != "":
			g.refused.WithLabelValues(reason).Inc()
			g.log.Warn("refused a connection", "reason", reason, "remote", conn.RemoteAddr())
			conn.Close()
		default: // the broker is closing
			conn.Close()
		}
	}
}

// waitingNow is how many connections are in the waiting room.
func (g *guard) waitingNow() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return float64(len(g.waiting))
}

// waiting is admit's answer for a connection put in the waiting room.
const waiting = "waiting"

// sweep closes, every second until the broker closes, the waiting connections whose
// connect timeout has passed without a slot.
func (g *guard) sweep() {
	defer g.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-g.done:
			return
		case <-t.C:
		}
		g.mu.Lock()
		expired := g.expireLocked(time.Now())
		g.mu.Unlock()
		g.timedOut(expired)
	}
}

// expireLocked takes the waiting connections whose deadline has passed out of the
// room (the oldest are first) and returns them; g.mu is held.
func (g *guard) expireLocked(now time.Time) []waiter {
	n := 0
	for n < len(g.waiting) && !now.Before(g.waiting[n].until) {
		g.leaveLocked(g.waiting[n])
		n++
	}
	if n == 0 {
		return nil
	}
	expired := slices.Clone(g.waiting[:n])
	g.waiting = slices.Delete(g.waiting, 0, n)
	return expired
}

// leaveLocked counts w out of the room; g.mu is held.
func (g *guard) leaveLocked(w waiter) {
	if w.count.waiting--; w.count.open == 0 && w.count.waiting == 0 {
		delete(g.perAddr, w.addr)
	}
}

// timedOut closes waiting connections that got no slot in time.
func (g *guard) timedOut(ws []waiter) {
	for _, w := range ws {
		g.refused.WithLabelValues(refusedTimeout).Inc()
		g.log.Warn("refused a connection", "reason", refusedTimeout, "remote", w.conn.RemoteAddr())
		w.conn.Close()
	}
}

// promoteLocked lets waiting connections in, oldest first, while there are slots for
// them, and returns those that are out of time, to be closed; g.mu is held. One with
// less than a quarter of its connect timeout left is out of time: its handshake
// would not finish, and its device has likely given up.
func (g *guard) promoteLocked() []waiter {
	expired := g.expireLocked(time.Now().Add(g.lim.ConnectTimeout / 4))
	for i := 0; i < len(g.waiting) && g.connecting < g.lim.MaxConnecting; {
		w := g.waiting[i]
		if w.count.connecting >= g.lim.MaxConnectingPerAddress {
			i++
			continue
		}
		g.waiting = slices.Delete(g.waiting, i, i+1)
		w.count.waiting--
		setReadBuffer(w.conn, admittedReadBuffer)
		go g.run(g.enterLocked(w.conn, w.count, w.addr, w.until), g.handle)
	}
	return expired
}

// setReadBuffer sets the receive buffer of c's socket, beneath any TLS.
func setReadBuffer(c net.Conn, n int) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(n)
	}
}

// run serves one admitted connection and counts why it ended.
func (g *guard) run(gc *guardedConn, handle func(net.Conn) error) {
	defer g.wg.Done()
	err := handle(gc)
	gc.Close()
	g.classify(gc, err)
}

// admit counts conn in, puts it in the waiting room (reason waiting), or returns why
// it is over a limit (nil and no reason: the broker is closing).
func (g *guard) admit(conn net.Conn) (*guardedConn, string) {
	addr := remoteIP(conn)
	until := time.Now().Add(g.lim.ConnectTimeout)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.end.Load() {
		return nil, ""
	}
	a := g.perAddr[addr]
	if a == nil {
		a = &addrCount{}
	}
	addrFull, full := a.connecting >= g.lim.MaxConnectingPerAddress, g.connecting >= g.lim.MaxConnecting
	switch {
	case a.open+a.waiting >= g.lim.MaxConnectionsPerAddress:
		return nil, refusedAddrBusy
	case !addrFull && !full:
		g.perAddr[addr] = a
		return g.enterLocked(conn, a, addr, until), ""
	case a.waiting < g.lim.maxWaitingPerAddress() && len(g.waiting) < g.lim.MaxWaiting:
		g.perAddr[addr] = a
		a.waiting++
		setReadBuffer(conn, waitingReadBuffer)
		g.waiting = append(g.waiting, waiter{conn: conn, addr: addr, count: a, until: until})
		return nil, waiting
	case addrFull:
		return nil, refusedAddrBusy
	}
	return nil, refusedBusy
}

// enterLocked admits conn of addr (counted in a) until its connect deadline; g.mu is
// held.
func (g *guard) enterLocked(conn net.Conn, a *addrCount, addr string, until time.Time) *guardedConn {
	g.wg.Add(1)
	a.open++
	a.connecting++
	g.connecting++
	gc := &guardedConn{Conn: conn, g: g, addr: addr}
	g.live[gc] = struct{}{}
	gc.connectingNow.Store(true)
	gc.wasConnecting.Store(true)
	_ = conn.SetDeadline(until) // the keepalive's is set after CONNECT
	return gc
}

// classify counts why an admitted connection ended, when it is one of ours.
func (g *guard) classify(gc *guardedConn, err error) {
	var ne net.Error
	switch {
	case err == nil:
	case errors.Is(err, errPacketTooLarge) && gc.wasConnecting.Load():
		g.refused.WithLabelValues(refusedPacketLarge).Inc()
		g.log.Warn("refused a connection", "reason", refusedPacketLarge, "remote", gc.RemoteAddr())
	case errors.Is(err, errPacketTooLarge):
		g.disconnect.WithLabelValues(refusedPacketLarge).Inc()
		g.log.Warn("closed a connection", "reason", refusedPacketLarge, "remote", gc.RemoteAddr())
	case gc.wasConnecting.Load() && errors.As(err, &ne) && ne.Timeout():
		g.refused.WithLabelValues(refusedTimeout).Inc()
		g.log.Warn("refused a connection", "reason", refusedTimeout, "remote", gc.RemoteAddr())
	}
}

// connected moves gc from connecting to connected (its CONNECT was accepted), and
// lets a waiting connection have the slot.
func (g *guard) connected(gc *guardedConn) {
	if !gc.connectingNow.CompareAndSwap(true, false) {
		return
	}
	gc.wasConnecting.Store(false)
	g.mu.Lock()
	g.connecting--
	g.perAddr[gc.addr].connecting--
	var expired []waiter
	if !g.end.Load() {
		expired = g.promoteLocked()
	}
	g.mu.Unlock()
	g.timedOut(expired)
}

// closed counts gc out, and lets a waiting connection have its slot if it held one.
func (g *guard) closed(gc *guardedConn) {
	wasConnecting := gc.connectingNow.Swap(false)
	g.mu.Lock()
	delete(g.live, gc)
	a := g.perAddr[gc.addr]
	if wasConnecting {
		g.connecting--
		a.connecting--
	}
	if a.open--; a.open == 0 && a.waiting == 0 {
		delete(g.perAddr, gc.addr)
	}
	var expired []waiter
	if wasConnecting && !g.end.Load() {
		expired = g.promoteLocked()
	}
	g.mu.Unlock()
	g.timedOut(expired)
}

// close stops accepting and closes every admitted connection.
func (g *guard) close() error {
	g.mu.Lock()
	if g.end.Swap(true) {
		g.mu.Unlock()
		return nil
	}
	err := g.ln.Close()
	live := make([]*guardedConn, 0, len(g.live))
	for gc := range g.live {
		live = append(live, gc)
	}
	waiters := g.waiting
	g.waiting = nil
	for _, w := range waiters {
		g.leaveLocked(w)
	}
	close(g.done)
	g.mu.Unlock()
	for _, w := range waiters {
		w.conn.Close()
	}
	for _, gc := range live {
		gc.closeSocket() // the connection's goroutine ends and counts it out
	}
	return err
}

// wait returns when every admitted connection's goroutine has ended.
func (g *guard) wait() { g.wg.Wait() }

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// guardedConn is an admitted connection; it counts itself out when closed.
type guardedConn struct {
	net.Conn
	g    *guard
	addr string
	// connectingNow: it holds a connecting slot; wasConnecting: it never got past
	// CONNECT (for classify, after the slot is given back on close).
	connectingNow, wasConnecting atomic.Bool
	once                         sync.Once
}

// Close closes the connection and gives back its slots.
func (c *guardedConn) Close() error {
	err := c.closeSocket()
	c.once.Do(func() { c.g.closed(c) })
	return err
}

// closeSocket closes the TCP connection beneath any TLS. tls.Conn's own Close first
// sends a close_notify and waits up to 5 s to write it to a peer that may read
// nothing: a takeover or a recheck would hold the broker that long, and its close
// would take 5 s a client. MQTT ends a session with DISCONNECT, not close_notify.
func (c *guardedConn) closeSocket() error {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.NetConn().Close()
	}
	return c.Conn.Close()
}
