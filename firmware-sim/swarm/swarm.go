// Package swarm holds many device MQTT connections in one process, for the load
// tests of a whole township reconnecting at once and of 100,000 devices connected
// (docs/performance.md). A paho client per device is too heavy for that (several
// goroutines, its stores and buffers: tens of KB per connection, see
// BenchmarkClientMemory in bench/); a swarm connection is one goroutine reading the
// broker's answers and a few hundred bytes of state, speaking MQTT 3.1.1 through
// paho's own packet encoder (github.com/eclipse/paho.mqtt.golang/packets).
//
// A connection connects as firmware does (client id and username = device id, its
// password, clean session off, a retained offline Last Will on its status topic, a
// subscription to its cmd topic) and publishes at QoS 1. One goroutine per Dialer
// sends PINGREQ for every connection quiet for its keepalive. Connect retries with
// randomised exponential back-off (full jitter) as the firmware does, and Options.Sources
// spreads the connections over several loopback source addresses (one address has
// about 28,000 ephemeral ports towards one broker port).
package swarm

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/protocol"
)

// Backoff is how a device waits between connection attempts: a random time up to
// Min*2^attempt, at most Max (full jitter: a township's devices spread out instead
// of coming back in waves).
type Backoff struct {
	Min, Max time.Duration
}

// Wait returns the pause before the attempt-th retry (attempt 0 is the first retry).
func (b Backoff) Wait(attempt int) time.Duration {
	if b.Min <= 0 {
		b.Min = time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	ceil := b.Min << min(attempt, 30)
	if ceil <= 0 || ceil > b.Max {
		ceil = b.Max
	}
	return time.Duration(rand.Int64N(int64(ceil)) + 1)
}

// Options configure a Dialer.
type Options struct {
	// Broker is host:port of the MQTT listener.
	Broker string
	// TLS, when set, makes every connection speak MQTT over TLS with it.
	TLS *tls.Config
	// Sources are the local IP addresses to dial from, in turn (none: the kernel's
	// choice). On loopback, 127.0.0.2 and up need no set-up on Linux.
	Sources []string
	// KeepAlive is the MQTT keepalive (default 60 s).
	KeepAlive time.Duration
	// Backoff paces Connect's retries (default 1 s .. 60 s).
	Backoff Backoff
	// ConnectTimeout bounds one attempt, dial to CONNACK (default 10 s).
	ConnectTimeout time.Duration
	// NoCmd leaves out the subscription to the device's cmd topic.
	NoCmd bool
	// OnLost, when set, runs (on its own goroutine) for every connection that
	// ended other than by Close or Drop: the broker closed it, or a write failed.
	OnLost func(c *Conn, err error)
}

// writeTimeout bounds one write to the broker; past it the connection is dropped.
const writeTimeout = 30 * time.Second

// Dialer opens connections and keeps them alive.
type Dialer struct {
	o       Options
	sources []*net.TCPAddr
	next    atomic.Uint64

	mu    sync.Mutex
	conns map[*Conn]struct{}
	stop  chan struct{}
	once  sync.Once

	// Counters, for reports.
	attempts, refused, failed, pings atomic.Int64
	noPort                           atomic.Int64 // failed: no free local port
}

// New returns a Dialer; Close stops its keepalive goroutine.
func New(o Options) (*Dialer, error) {
	if o.KeepAlive <= 0 {
		o.KeepAlive = 60 * time.Second
	}
	if o.Backoff.Min <= 0 {
		o.Backoff = Backoff{Min: time.Second, Max: time.Minute}
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	d := &Dialer{o: o, conns: map[*Conn]struct{}{}, stop: make(chan struct{})}
	for _, s := range o.Sources {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("swarm: source %q is not an IP address", s)
		}
		d.sources = append(d.sources, &net.TCPAddr{IP: ip})
	}
	go d.keepalive()
	return d, nil
}

// Stats are a Dialer's counters.
type Stats struct {
	// Attempts to connect, of which Refused were answered with a CONNACK refusal
	// and Failed ended otherwise (dial error, timeout, closed); Pings sent.
	Attempts, Refused, Failed, Pings int64
	// NoPort of the Failed found no free local port on their source address (the
	// load generator's own limit, not the broker's: use more sources).
	NoPort int64
	// Open connections now.
	Open int
}

// Stats returns the counters.
func (d *Dialer) Stats() Stats {
	d.mu.Lock()
	open := len(d.conns)
	d.mu.Unlock()
	return Stats{Attempts: d.attempts.Load(), Refused: d.refused.Load(), Failed: d.failed.Load(), Pings: d.pings.Load(),
		NoPort: d.noPort.Load(), Open: open}
}

// Close drops every open connection (without DISCONNECT) and stops the keepalive.
func (d *Dialer) Close() {
	d.once.Do(func() { close(d.stop) })
	d.mu.Lock()
	cs := make([]*Conn, 0, len(d.conns))
	for c := range d.conns {
		cs = append(cs, c)
	}
	d.mu.Unlock()
	for _, c := range cs {
		c.Drop()
	}
}

// ErrRefused is a CONNACK with a non-zero return code.
var ErrRefused = errors.New("swarm: connection refused by the broker")

// Connect connects device as firmware does, retrying with back-off until ctx ends.
func (d *Dialer) Connect(ctx context.Context, device, password string) (*Conn, error) {
	for attempt := 0; ; attempt++ {
		c, err := d.Dial(ctx, device, password)
		if err == nil {
			return c, nil
		}
		t := time.NewTimer(d.o.Backoff.Wait(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("swarm: %s: %w (last: %v)", device, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// Dial makes one attempt: TCP, CONNECT, CONNACK, then SUBSCRIBE to the cmd topic.
func (d *Dialer) Dial(ctx context.Context, device, password string) (*Conn, error) {
	d.attempts.Add(1)
	c, err := d.dial(ctx, device, password)
	if err != nil {
		switch {
		case errors.Is(err, ErrRefused):
			d.refused.Add(1)
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			d.noPort.Add(1)
			d.failed.Add(1)
		default:
			d.failed.Add(1)
		}
		return nil, err
	}
	return c, nil
}

func (d *Dialer) dial(ctx context.Context, device, password string) (*Conn, error) {
	nd := net.Dialer{Timeout: d.o.ConnectTimeout}
	if len(d.sources) > 0 {
		nd.LocalAddr = d.sources[d.next.Add(1)%uint64(len(d.sources))]
	}
	sock, err := nd.DialContext(ctx, "tcp", d.o.Broker)
	if err != nil {
		return nil, err
	}
	nc := sock
	if d.o.TLS != nil {
		nc = tls.Client(sock, d.o.TLS) // the handshake is the CONNECT's first write
	}
	nc.SetDeadline(time.Now().Add(d.o.ConnectTimeout)) //nolint:errcheck // a failed deadline shows as a read error
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.ClientIdentifier, cp.Keepalive = device, uint16(d.o.KeepAlive/time.Second)
	cp.UsernameFlag, cp.Username = true, device
	if password != "" {
		cp.PasswordFlag, cp.Password = true, []byte(password)
	}
	cp.WillFlag, cp.WillQos, cp.WillRetain = true, 1, true
	cp.WillTopic = protocol.DeviceTopic(device, protocol.KindStatus)
	cp.WillMessage = protocol.EncodeStatus(protocol.Status{Online: false})
	r := bufio.NewReaderSize(nc, 64)
	if err := cp.Write(nc); err != nil {
		nc.Close()
		return nil, err
	}
	p, err := packets.ReadPacket(r)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("swarm: %s: waiting for CONNACK: %w", device, err)
	}
	ack, ok := p.(*packets.ConnackPacket)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("swarm: %s: %T instead of CONNACK", device, p)
	}
	if ack.ReturnCode != packets.Accepted {
		nc.Close()
		return nil, fmt.Errorf("%w: %s: %s", ErrRefused, device, packets.ConnackReturnCodes[ack.ReturnCode])
	}
	c := &Conn{d: d, device: device, nc: nc, sock: sock, done: make(chan struct{})}
	if !d.o.NoCmd {
		sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
		sp.MessageID, sp.Topics, sp.Qoss = c.id(), []string{protocol.DeviceTopic(device, protocol.KindCmd)}, []byte{1}
		if err := sp.Write(nc); err != nil {
			nc.Close()
			return nil, err
		}
	}
	nc.SetDeadline(time.Time{}) //nolint:errcheck // as above
	c.lastWrite.Store(time.Now().UnixNano())
	d.mu.Lock()
	d.conns[c] = struct{}{}
	d.mu.Unlock()
	go c.read(r)
	return c, nil
}

// keepalive sends PINGREQ on every connection that wrote nothing for its keepalive
// less a second, checking once a second: one goroutine for all of them.
func (d *Dialer) keepalive() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	idle := d.o.KeepAlive - time.Second
	var due []*Conn
	for {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			due = due[:0]
			d.mu.Lock()
			for c := range d.conns {
				if now.UnixNano()-c.lastWrite.Load() >= int64(idle) {
					due = append(due, c)
				}
			}
			d.mu.Unlock()
			for _, c := range due {
				if c.write(packets.NewControlPacket(packets.Pingreq)) == nil {
					d.pings.Add(1)
				}
			}
		}
	}
}

func (d *Dialer) forget(c *Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

// Conn is one device's connection.
type Conn struct {
	d         *Dialer
	device    string
	nc        net.Conn     // MQTT's stream: sock, or TLS over it
	sock      net.Conn     // closed as a link is lost: no TLS close_notify
	lastWrite atomic.Int64 // unix nanos

	wmu sync.Mutex // one writer at a time on the socket

	mu      sync.Mutex // the fields below; never held while writing
	nextID  uint16
	pending map[uint16]func(error)
	err     error // why the connection ended
	done    chan struct{}
}

// ErrClosed is what publishes get once the connection is gone.
var ErrClosed = errors.New("swarm: connection closed")

// Device is the connection's device id.
func (c *Conn) Device() string { return c.device }

// Done is closed when the connection has ended; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// id returns the next packet id (1..65535); call with c.mu held or before read runs.
func (c *Conn) id() uint16 {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	return c.nextID
}

// write sends p; a failed write ends the connection.
func (c *Conn) write(p packets.ControlPacket) error {
	if err := c.Err(); err != nil {
		return err
	}
	c.wmu.Lock()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout)) //nolint:errcheck // a failed deadline shows as a write error
	err := p.Write(c.nc)
	c.wmu.Unlock()
	if err != nil {
		c.end(err, true)
		return err
	}
	c.lastWrite.Store(time.Now().UnixNano())
	return nil
}

// Publish sends payload on topic at QoS 1; done (may be nil) gets nil at the PUBACK,
// or the error that ended the connection first. done runs on the connection's reader:
// it must not block.
func (c *Conn) Publish(topic string, payload []byte, retain bool, done func(error)) error {
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.TopicName, pp.Payload, pp.Qos, pp.Retain = topic, payload, 1, retain
	if done == nil {
		done = func(error) {}
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	pp.MessageID = c.id()
	if c.pending == nil {
		c.pending = map[uint16]func(error){}
	}
	c.pending[pp.MessageID] = done
	c.mu.Unlock()
	if err := c.write(pp); err != nil {
		c.mu.Lock()
		_, still := c.pending[pp.MessageID] // else end has failed it already
		delete(c.pending, pp.MessageID)
		c.mu.Unlock()
		if still {
			return err
		}
		return nil
	}
	return nil
}

// PublishWait publishes and waits for the PUBACK, at most until ctx ends.
func (c *Conn) PublishWait(ctx context.Context, topic string, payload []byte, retain bool) error {
	ch := make(chan error, 1)
	if err := c.Publish(topic, payload, retain, func(err error) { ch <- err }); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends DISCONNECT (the broker then discards the Last Will) and closes.
func (c *Conn) Close() {
	c.write(packets.NewControlPacket(packets.Disconnect)) //nolint:errcheck // closing either way
	c.end(ErrClosed, false)
}

// Drop closes the socket without DISCONNECT, as a power cut does: the broker
// publishes the Last Will. It resets the connection rather than closing it with a
// FIN, so the load generator's port is not left in TIME_WAIT for a minute (a device
// that lost its power keeps none): a township's 15,000 ports in TIME_WAIT on the
// same source addresses slowed the next connects to the same broker, and the
// broker turned thousands away at its admission limit.
func (c *Conn) Drop() {
	if tc, ok := c.sock.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // closed already: nothing to reset
	}
	c.end(ErrClosed, false)
}

// end closes the connection once and fails what waits for a PUBACK; lost says it
// was not ended on purpose (Options.OnLost).
func (c *Conn) end(err error, lost bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.sock.Close()
	c.d.forget(c)
	for _, done := range pending {
		done(err)
	}
	close(c.done)
	if lost && c.d.o.OnLost != nil {
		go c.d.o.OnLost(c, err)
	}
}

// read takes the broker's packets until the connection ends: PUBACKs complete
// publishes, a cmd (QoS 1) is acknowledged and otherwise ignored.
func (c *Conn) read(r *bufio.Reader) {
	for {
		p, err := packets.ReadPacket(r)
		if err != nil {
			c.end(fmt.Errorf("%w: %v", ErrClosed, err), true)
			return
		}
		switch p := p.(type) {
		case *packets.PubackPacket:
			c.mu.Lock()
			done := c.pending[p.MessageID]
			delete(c.pending, p.MessageID)
			c.mu.Unlock()
			if done != nil {
				done(nil)
			}
		case *packets.PublishPacket:
			if p.Qos == 1 {
				ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
				ack.MessageID = p.MessageID
				go c.write(ack) //nolint:errcheck // a failed write ends the connection; not on the reader, which must keep taking PUBACKs
			}
		}
	}
}
