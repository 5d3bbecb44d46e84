package broker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
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
// connecting (about 36 MB of buffers at the largest packet), 16 of them from one
// address, 256 connections per address, 10 s to connect.
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

// guard is the broker's listener: mochi's plain net listener plus the Limits. A
// connection over a limit is closed at accept, before anything is read from it.
type guard struct {
	ln                  net.Listener
	lim                 Limits
	refused, disconnect *prometheus.CounterVec
	log                 *slog.Logger

	mu         sync.Mutex
	connecting int
	perAddr    map[string]*addrCount
	end        atomic.Bool
	wg         sync.WaitGroup
}

type addrCount struct{ open, connecting int }

var _ listeners.Listener = (*guard)(nil)

func newGuard(ln net.Listener, lim Limits, refused, disconnect *prometheus.CounterVec, log *slog.Logger) *guard {
	return &guard{ln: ln, lim: lim, refused: refused, disconnect: disconnect, log: log, perAddr: map[string]*addrCount{}}
}

// ID names the listener.
func (g *guard) ID() string { return "devices" }

// Address is where it listens.
func (g *guard) Address() string { return g.ln.Addr().String() }

// Protocol is the listener's network.
func (g *guard) Protocol() string { return g.ln.Addr().Network() }

// Init does nothing: the listener is bound already.
func (g *guard) Init(*slog.Logger) error { return nil }

// Serve accepts connections until Close, admitting those within the limits.
func (g *guard) Serve(establish listeners.EstablishFn) {
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
			conn.Close()
			continue
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			err := establish(g.ID(), gc)
			gc.Close()
			g.classify(gc, err)
		}()
	}
}

// admit counts conn in, or returns why it is over a limit.
func (g *guard) admit(conn net.Conn) (*guardedConn, string) {
	addr := remoteIP(conn)
	g.mu.Lock()
	defer g.mu.Unlock()
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
	a.open++
	a.connecting++
	g.connecting++
	gc := &guardedConn{Conn: conn, g: g, addr: addr}
	gc.connectingNow.Store(true)
	gc.wasConnecting.Store(true)
	_ = conn.SetDeadline(time.Now().Add(g.lim.ConnectTimeout)) // mochi sets the keepalive's after CONNECT
	return gc, ""
}

// classify counts why an admitted connection ended, when it is one of ours.
func (g *guard) classify(gc *guardedConn, err error) {
	var ne net.Error
	switch {
	case err == nil:
	case errors.Is(err, packets.ErrPacketTooLarge) && gc.wasConnecting.Load():
		g.refused.WithLabelValues(refusedPacketLarge).Inc()
		g.log.Warn("refused a connection", "reason", refusedPacketLarge, "remote", gc.RemoteAddr())
	case errors.Is(err, packets.ErrPacketTooLarge):
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
	a := g.perAddr[gc.addr]
	if wasConnecting {
		g.connecting--
		a.connecting--
	}
	if a.open--; a.open == 0 {
		delete(g.perAddr, gc.addr)
	}
}

// Close stops accepting and closes the clients of this listener.
func (g *guard) Close(closeClients listeners.CloseFn) {
	if g.end.Swap(true) {
		return
	}
	closeClients(g.ID())
	g.ln.Close()
}

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
	err := c.Conn.Close()
	c.once.Do(func() { c.g.closed(c) })
	return err
}
