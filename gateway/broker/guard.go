package broker

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
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
	// CONNECT (TLS handshake, CONNECT packet, password check) at once; more are
	// closed at accept.
	MaxConnecting int
	// MaxConnectingPerAddress is that bound for one remote IP address, so a flood
	// from one address leaves room for everyone else.
	MaxConnectingPerAddress int
	// MaxConnectionsPerAddress bounds all open connections of one IP address,
	// authenticated or not (devices behind one NAT share an address: be generous).
	MaxConnectionsPerAddress int
	// ConnectTimeout is how long a new connection has to complete its CONNECT.
	ConnectTimeout time.Duration
}

// DefaultLimits are the limits when Options.Limits is zero: at most 256 connections
// connecting (about 18 MB of packet bodies at the largest packet), 64 of them from
// one address, 20,000 connections per address (devices behind a carrier's NAT), 10 s
// to connect.
func DefaultLimits() Limits {
	return Limits{MaxConnecting: 256, MaxConnectingPerAddress: 64, MaxConnectionsPerAddress: 20_000,
		ConnectTimeout: 10 * time.Second}
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
	return l
}

// Reasons a connection is refused by the guard (label reason of
// carebed_broker_refused_total) or closed after it connected (disconnected_total).
const (
	refusedBusy        = "too_many_connecting"
	refusedAddrBusy    = "too_many_from_address"
	refusedTimeout     = "connect_timeout"
	refusedPacketLarge = "packet_too_large"
)

// guard is the broker's listener with the Limits. A connection over a limit is
// closed at accept, before anything is read from it.
type guard struct {
	ln                  net.Listener
	lim                 Limits
	refused, disconnect *prometheus.CounterVec
	log                 *slog.Logger

	mu         sync.Mutex
	connecting int
	perAddr    map[string]*addrCount
	live       map[*guardedConn]struct{} // admitted and not closed
	end        atomic.Bool
	wg         sync.WaitGroup
}

type addrCount struct{ open, connecting int }

func newGuard(ln net.Listener, lim Limits, refused, disconnect *prometheus.CounterVec, log *slog.Logger) *guard {
	return &guard{ln: ln, lim: lim, refused: refused, disconnect: disconnect, log: log, perAddr: map[string]*addrCount{},
		live: map[*guardedConn]struct{}{}}
}

// serve accepts connections until close, admitting those within the limits and
// running handle on each in a goroutine of its own.
func (g *guard) serve(handle func(net.Conn) error) {
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
		if reason != "" {
			g.refused.WithLabelValues(reason).Inc()
			g.log.Warn("refused a connection", "reason", reason, "remote", conn.RemoteAddr())
		}
		if gc == nil {
			conn.Close()
			continue
		}
		go g.run(gc, handle)
	}
}

// run serves one admitted connection and counts why it ended.
func (g *guard) run(gc *guardedConn, handle func(net.Conn) error) {
	defer g.wg.Done()
	err := handle(gc)
	gc.Close()
	g.classify(gc, err)
}

// admit counts conn in, or returns why it is over a limit (nil and no reason: the
// broker is closing).
func (g *guard) admit(conn net.Conn) (*guardedConn, string) {
	addr := remoteIP(conn)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.end.Load() {
		return nil, ""
	}
	a := g.perAddr[addr]
	if a == nil {
		a = &addrCount{}
	}
	switch {
	case a.open >= g.lim.MaxConnectionsPerAddress || a.connecting >= g.lim.MaxConnectingPerAddress:
		return nil, refusedAddrBusy
	case g.connecting >= g.lim.MaxConnecting:
		return nil, refusedBusy
	}
	g.perAddr[addr] = a
	g.wg.Add(1)
	a.open++
	a.connecting++
	g.connecting++
	gc := &guardedConn{Conn: conn, g: g, addr: addr}
	g.live[gc] = struct{}{}
	gc.connectingNow.Store(true)
	gc.wasConnecting.Store(true)
	_ = conn.SetDeadline(time.Now().Add(g.lim.ConnectTimeout)) // the keepalive's is set after CONNECT
	return gc, ""
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

// connected moves gc from connecting to connected (its CONNECT was accepted).
func (g *guard) connected(gc *guardedConn) {
	if !gc.connectingNow.CompareAndSwap(true, false) {
		return
	}
	gc.wasConnecting.Store(false)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.connecting--
	g.perAddr[gc.addr].connecting--
}

// closed counts gc out.
func (g *guard) closed(gc *guardedConn) {
	wasConnecting := gc.connectingNow.Swap(false)
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.live, gc)
	a := g.perAddr[gc.addr]
	if wasConnecting {
		g.connecting--
		a.connecting--
	}
	if a.open--; a.open == 0 {
		delete(g.perAddr, gc.addr)
	}
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
	g.mu.Unlock()
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
