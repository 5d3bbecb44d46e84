// Package mqttconn gives paho.mqtt.golang a buffered connection. paho reads each
// packet with several small reads and writes each packet (a PUBLISH, a PUBACK) with
// its own write, straight on the socket: at tens of thousands of messages a second
// the system calls cost more than everything else. Here reads go through a bufio.Reader
// and writes are coalesced: Write queues the bytes and one goroutine writes whatever
// has queued while the previous write was in the kernel.
//
// With Options.Linger the connection also paces its system calls: under steady
// traffic it reads and writes at most once per Linger, so the packets that arrive or
// queue meanwhile share one call and one wake-up of paho's goroutines, instead of one
// each. A call long after the previous one goes at once, so a lone message is not
// delayed.
package mqttconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

const (
	// maxQueued bounds the bytes a Write may queue before it waits for the socket.
	maxQueued = 1 << 20
	// readBuffer is the size of the read buffer.
	readBuffer = 64 << 10
	// paceBelow is how little a read or write moves for the next one to wait for
	// the linger: with more, the traffic is heavy enough to batch itself.
	paceBelow = 16 << 10
)

// Options tune a Conn.
type Options struct {
	// Linger is the longest a read or write waits for more packets to share its
	// system call (see the package documentation). Zero: no waiting.
	Linger time.Duration
}

// Dialer is Dial with options.
func Dialer(o Options) mqtt.OpenConnectionFunc {
	return func(uri *url.URL, co mqtt.ClientOptions) (net.Conn, error) {
		c, pacedBeneath, err := dial(uri, co, o.Linger)
		if err != nil {
			return nil, err
		}
		return newConn(c, o, !pacedBeneath), nil
	}
}

// Dial is a paho OpenConnectionFunc for tcp:// (mqtt://) and tls:// (ssl://,
// mqtts://) brokers. Install it with ClientOptions.SetCustomOpenConnectionFn.
func Dial(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	return Dialer(Options{})(uri, o)
}

// dial connects to the broker. Over TLS with a linger, the reads are paced beneath
// TLS (pacedBeneath): a TLS read returns one record, so above TLS every read looks
// short and each record would wait for the linger, while beneath it a short read
// means what it means over plain TCP, that the socket was drained.
func dial(uri *url.URL, o mqtt.ClientOptions, linger time.Duration) (c net.Conn, pacedBeneath bool, err error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	if o.Dialer != nil {
		d = o.Dialer
	}
	switch uri.Scheme {
	case "tcp", "mqtt":
		c, err = d.Dial("tcp", uri.Host)
		return c, false, err
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		c, err = dialTLS(d, uri.Host, o.TLSConfig, linger)
		return c, linger > 0, err
	}
	return nil, false, fmt.Errorf("mqttconn: scheme %q is not tcp, mqtt, ssl, tls or mqtts", uri.Scheme)
}

// dialTLS is tls.DialWithDialer with the socket's reads paced by linger once the
// handshake is done.
func dialTLS(d *net.Dialer, addr string, cfg *tls.Config, linger time.Duration) (net.Conn, error) {
	ctx := context.Background()
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	if !d.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Deadline)
		defer cancel()
	}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var paced *pacedConn
	if linger > 0 {
		paced = &pacedConn{Conn: raw, closing: make(chan struct{})}
		paced.r = pacedReader{c: raw, linger: linger, closing: paced.closing}
		raw = paced
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	if paced != nil {
		paced.on.Store(true)
	}
	return tc, nil
}

// pacedConn is a socket whose reads are paced (once on is set: not the handshake's).
type pacedConn struct {
	net.Conn
	r       pacedReader
	on      atomic.Bool
	closing chan struct{}
	once    sync.Once
}

func (c *pacedConn) Read(p []byte) (int, error) {
	if !c.on.Load() {
		return c.Conn.Read(p)
	}
	return c.r.Read(p)
}

// Close closes the socket and ends a linger's wait.
func (c *pacedConn) Close() error {
	c.once.Do(func() { close(c.closing) })
	return c.Conn.Close()
}

// NopStore is a paho Store that keeps nothing: for clients whose QoS 1 messages the
// other side redelivers (the gateway's subscriber: a message not acknowledged comes
// again in the next session) or that may lose them (a load generator). Keeping them
// costs a map write and delete per message.
type NopStore struct{}

var _ mqtt.Store = NopStore{}

// Open does nothing.
func (NopStore) Open() {}

// Put keeps nothing.
func (NopStore) Put(string, packets.ControlPacket) {}

// Get finds nothing.
func (NopStore) Get(string) packets.ControlPacket { return nil }

// All lists nothing.
func (NopStore) All() []string { return nil }

// Del does nothing.
func (NopStore) Del(string) {}

// Close does nothing.
func (NopStore) Close() {}

// Reset does nothing.
func (NopStore) Reset() {}

// Supports reports whether Dial handles the broker URL's scheme.
func Supports(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		return true
	}
	return false
}

// Conn is a net.Conn with buffered reads and coalesced writes.
type Conn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond
	queued  []byte
	spare   []byte
	err     error // the first write error; later Writes return it
	closed  bool
	closing chan struct{} // closed by Close: ends the linger waits
	flushed chan struct{}
	linger  time.Duration
}

// New wraps c.
func New(c net.Conn) *Conn { return NewWith(c, Options{}) }

// NewWith wraps c with options.
func NewWith(c net.Conn, o Options) *Conn { return newConn(c, o, true) }

// newConn wraps c; paceReads: its reads are paced here, not beneath (dialTLS).
func newConn(c net.Conn, o Options, paceReads bool) *Conn {
	bc := &Conn{Conn: c, closing: make(chan struct{}), flushed: make(chan struct{}), linger: o.Linger}
	var r io.Reader = c
	if o.Linger > 0 && paceReads {
		r = &pacedReader{c: c, linger: o.Linger, closing: bc.closing}
	}
	bc.r = bufio.NewReaderSize(r, readBuffer)
	bc.cond = sync.NewCond(&bc.mu)
	go bc.flusher()
	return bc
}

// pacedReader reads from the socket at most once per linger while reads come back
// short (the socket was drained: less than asked, and less than paceBelow): the
// packets arriving meanwhile are read together.
type pacedReader struct {
	c       io.Reader
	linger  time.Duration
	closing <-chan struct{}
	timer   *time.Timer
	last    time.Time // when the last short read returned
	short   bool
}

func (r *pacedReader) Read(p []byte) (int, error) {
	if r.short {
		r.timer = sleep(r.timer, r.linger-time.Since(r.last), r.closing)
	}
	n, err := r.c.Read(p)
	r.short = n < min(len(p), paceBelow)
	if r.short {
		r.last = time.Now()
	}
	return n, err
}

// Read reads through the buffer. When the flusher closed the socket after a failed
// write, the reader sees the end of the stream (io.EOF), not "use of closed network
// connection": paho takes the latter for its own Close and would then neither report
// the loss nor reconnect until its keepalive gave up, about a minute later.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && errors.Is(err, net.ErrClosed) && !c.closedByOwner() {
		err = io.EOF
	}
	return n, err
}

// closedByOwner reports whether Close (paho's) was called.
func (c *Conn) closedByOwner() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Write queues p for the flusher. It waits only while maxQueued bytes are queued.
//
// Once a write to the socket has failed, the flusher closes the socket, so paho's
// reader fails and paho handles the lost connection as usual (reconnect, resend
// from its store); Write then drops its bytes and reports success, as a socket
// buffer would. Reporting the error instead would fail the token of a QoS 1 publish
// that paho resends after reconnecting anyway, so a publisher would count as lost a
// message that arrives.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queued) >= maxQueued && c.err == nil && !c.closed {
		c.cond.Wait()
	}
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case c.err != nil:
		return len(p), nil
	}
	c.queued = append(c.queued, p...)
	c.cond.Broadcast()
	return len(p), nil
}

// flusher writes what is queued, one write per wake-up, and with a linger at most
// one small write per linger.
func (c *Conn) flusher() {
	defer close(c.flushed)
	var last time.Time // when the last small write started
	var timer *time.Timer
	for {
		c.mu.Lock()
		for len(c.queued) == 0 && !c.closed && c.err == nil {
			c.cond.Wait()
		}
		if len(c.queued) == 0 || c.err != nil {
			c.mu.Unlock()
			return
		}
		if c.linger > 0 && len(c.queued) < paceBelow {
			if !c.closed {
				c.mu.Unlock()
				timer = sleep(timer, c.linger-time.Since(last), c.closing)
				c.mu.Lock()
			}
			last = time.Now()
		}
		out := c.queued
		c.queued, c.spare = c.spare[:0], nil
		c.cond.Broadcast()
		c.mu.Unlock()
		_, err := c.Conn.Write(out)
		if err != nil {
			c.Conn.Close() // the reader fails now, not at the next keepalive
		}
		c.mu.Lock()
		c.spare = out[:0]
		if err != nil && c.err == nil {
			c.err = err
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// Drop ends the connection as a lost network would: the peer sees the stream end
// without a DISCONNECT and the reader sees end of file, so paho treats it as a lost
// connection and reconnects (after Close paho would not: it takes a closed socket for
// its own doing). Simulated devices use it for power cuts.
func (c *Conn) Drop() {
	type halfCloser interface {
		CloseRead() error
		CloseWrite() error
	}
	if hc, ok := c.Conn.(halfCloser); ok {
		hc.CloseWrite() //nolint:errcheck // dropping anyway
		hc.CloseRead()  //nolint:errcheck // dropping anyway
		return
	}
	c.Conn.Close()
}

// sleep waits d, or until closing is closed, on t (made when nil and returned).
func sleep(t *time.Timer, d time.Duration, closing <-chan struct{}) *time.Timer {
	if d <= 0 {
		return t
	}
	if t == nil {
		t = time.NewTimer(d)
	} else {
		t.Reset(d)
	}
	select {
	case <-t.C:
	case <-closing:
		t.Stop()
	}
	return t
}

// Close writes what is queued (bounded by a second) and closes the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.closing)
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	select {
	case <-c.flushed:
	case <-time.After(time.Second):
	}
	err := c.Conn.Close()
	<-c.flushed
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
