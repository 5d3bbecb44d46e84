package broker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/brokerauth"
	"carebed/gateway/ingest"
)

// writeTimeout bounds one write to a client: a link that takes no bytes for this
// long is closed, and what was not acknowledged waits in its session.
const writeTimeout = 10 * time.Second

var (
	errRefused       = errors.New("connection refused")
	errNotAuthorized = errors.New("publish to a topic the client may not write")
	errClosing       = errors.New("broker closing")
	errHandOff       = errors.New("hand-off failed")
)

// conn is one client's connection. One goroutine reads it and does what each packet
// asks, the hand-off of a publish included, so a connection costs one goroutine
// (parked in its read between packets) and a small read buffer; writes are made
// under wmu by whichever goroutine has something to send.
type conn struct {
	b      *Broker
	nc     net.Conn
	br     *bufio.Reader
	p      brokerauth.Principal
	issued time.Time // of the credential it connected with (zero: none)
	idle   time.Duration
	will   *packets.PublishPacket
	sess   *session
	// raw is the TCP socket, for awaitInput (nil: not a socket); tls says that TLS
	// runs over it.
	raw syscall.RawConn
	tls bool

	wmu    sync.Mutex // one packet at a time
	closed atomic.Bool
	// ready: its CONNACK and the session's pending messages are written; set under
	// the session's lock, before which nothing else is written to it.
	ready bool
	// quiet: the connection ended without its Last Will being due (taken over by
	// a new connection of the same client, or the broker closing).
	quiet atomic.Bool
}

// serveConn runs one admitted connection to its end and returns why it ended (nil: a
// DISCONNECT).
func (b *Broker) serveConn(nc net.Conn) error {
	c := &conn{b: b, nc: nc, br: bufio.NewReaderSize(nc, readBufferSize)}
	c.raw, c.tls = socketOf(nc)
	err := c.connect()
	if err == nil {
		err = c.serve()
	}
	if c.sess != nil { // attached: whatever failed after, it leaves its session
		c.end()
	}
	return err
}

// connect reads and answers the CONNECT: authentication, the Last Will, the session
// (a new connection with the same client id takes the old one's place).
func (c *conn) connect() error {
	cp, err := c.readConnect()
	if err != nil {
		return err
	}
	if err := c.admit(cp); err != nil {
		return err
	}
	c.idle = time.Duration(cp.Keepalive) * 1500 * time.Millisecond // MQTT: a keepalive and a half
	if gc, ok := c.nc.(*guardedConn); ok {
		gc.g.connected(gc) // no longer counted as connecting
	}
	_ = c.nc.SetDeadline(time.Time{})
	present, err := c.b.attach(c, cp.ClientIdentifier, cp.CleanSession)
	if err != nil {
		return err
	}
	expired, err := c.sess.open(c, present, c.b.now())
	c.b.overflowed(c.sess, expired)
	return err
}

// readConnect reads the first packet, which must be a CONNECT of a protocol version
// the broker speaks (else CONNACK says which is wrong).
func (c *conn) readConnect() (*packets.ConnectPacket, error) {
	pk, err := readPacket(c.br)
	if err != nil {
		return nil, err
	}
	cp, ok := pk.(*packets.ConnectPacket)
	if !ok {
		return nil, fmt.Errorf("%w: %T before CONNECT", errMalformed, pk)
	}
	if rc := cp.Validate(); rc != packets.Accepted {
		c.write(&packets.ConnackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Connack}, ReturnCode: rc})
		return nil, fmt.Errorf("%w: %s", errRefused, packets.ConnackReturnCodes[rc])
	}
	if cp.WillFlag && (!validTopic(cp.WillTopic) || cp.WillQos > 2) {
		return nil, fmt.Errorf("%w: Last Will topic %q", errMalformed, cp.WillTopic)
	}
	return cp, nil
}

// admit authenticates cp's client and holds its Last Will to the client's topic
// rules, as Mosquitto does (a Last Will is a publish); a refusal is counted, logged
// and answered with its CONNACK code.
func (c *conn) admit(cp *packets.ConnectPacket) error {
	h := c.b.hook
	reason, issued := h.authenticate(cp.Username, cp.ClientIdentifier, string(cp.Password))
	p := h.principal(cp.Username)
	if reason == "" && cp.WillFlag && !brokerauth.Allowed(p, cp.WillTopic, true) {
		reason = refusedWill
	}
	if reason != "" {
		h.refused.WithLabelValues(reason).Inc()
		h.log.Warn("refused a connection", "reason", reason, "client_id", cp.ClientIdentifier,
			"username", cp.Username, "will_topic", cp.WillTopic, "remote", c.nc.RemoteAddr())
		c.write(&packets.ConnackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Connack},
			ReturnCode: connackCode(reason)})
		return errRefused
	}
	c.p, c.issued = p, issued
	if cp.WillFlag {
		c.will = &packets.PublishPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Publish, Qos: cp.WillQos},
			TopicName: cp.WillTopic, Payload: cp.WillMessage}
	}
	return nil
}

// connackCode is the CONNACK return code for a refusal's reason.
func connackCode(reason string) byte {
	switch reason {
	case refusedClientID:
		return packets.ErrRefusedIDRejected
	case refusedRegistry:
		return packets.ErrRefusedServerUnavailable
	case refusedPassword:
		return packets.ErrRefusedBadUsernameOrPassword
	}
	return packets.ErrRefusedNotAuthorised
}

// serve reads packets until the connection ends.
func (c *conn) serve() error {
	for {
		var deadline time.Time
		if c.idle > 0 {
			deadline = time.Now().Add(c.idle)
		}
		if err := c.awaitInput(deadline); err != nil {
			return err
		}
		pk, err := readPacket(c.br)
		if err != nil {
			return err
		}
		switch p := pk.(type) {
		case *packets.PublishPacket:
			err = c.publish(p)
		case *packets.PubackPacket:
			c.sess.acked(p.MessageID)
		case *packets.PubrelPacket:
			err = c.write(&packets.PubcompPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Pubcomp},
				MessageID: p.MessageID})
		case *packets.SubscribePacket:
			err = c.subscribe(p)
		case *packets.UnsubscribePacket:
			err = c.unsubscribe(p)
		case *packets.PingreqPacket:
			err = c.write(&packets.PingrespPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Pingresp}})
		case *packets.DisconnectPacket:
			c.will = nil
			return nil
		case *packets.ConnectPacket:
			return fmt.Errorf("%w: a second CONNECT", errMalformed)
		}
		if err != nil {
			return err
		}
	}
}

// awaitInput returns when the connection has input for its next packet, having
// waited for it in a shallow frame. Parked in its read (crypto/tls's record reading,
// or the socket's read under the packet decoder) the reader keeps the stack that its
// first hand-off or TLS handshake grew to 8 KiB: the collector halves an idle stack
// only when a quarter of it is in use. Parked here it shrinks to 4 KiB: 400 MB at
// 100,000 idle devices. Over TLS, what crypto/tls has already taken from the socket
// is read first, under a deadline already passed (crypto/tls reads its buffered
// records without the socket; a read deadline leaves it usable). Then the socket is
// watched until it is readable or the keepalive's deadline passes.
func (c *conn) awaitInput(deadline time.Time) error {
	wait := c.raw != nil && c.br.Buffered() == 0
	if wait && c.tls {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
		_, err := c.br.Peek(1)
		_ = c.nc.SetReadDeadline(deadline)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err // input (nil), or the link ended
		}
	} else if c.idle > 0 {
		_ = c.nc.SetReadDeadline(deadline)
	}
	if !wait {
		return nil
	}
	woken := false
	return c.raw.Read(func(fd uintptr) bool {
		// Once the poller has woken it the reader goes to read: a wake-up with
		// nothing to read only parks it in its read until there is.
		defer func() { woken = true }()
		return woken || readable(fd)
	})
}

// publish takes a client's PUBLISH: checked against its rules, handed off (a
// device's durably, before the acknowledgement), acknowledged, then routed.
func (c *conn) publish(p *packets.PublishPacket) error {
	if !validTopic(p.TopicName) {
		return fmt.Errorf("%w: topic %q", errMalformed, p.TopicName)
	}
	if !brokerauth.Allowed(c.p, p.TopicName, true) {
		c.b.log.Warn("refused a publish outside the client's topics", "client_id", c.p.ID, "topic", p.TopicName)
		if p.Qos == 0 {
			return nil
		}
		return errNotAuthorized
	}
	if err := c.b.hook.publish(c.p, p.TopicName, p.Payload); err != nil {
		// Not acknowledged, and MQTT 3.1.1 clients send again only after a
		// reconnect: close the link (no Last Will: the device is not gone) so the
		// device reconnects and sends it again, rather than wait forever.
		level := slog.LevelError
		if errors.Is(err, ingest.ErrStopped) || errors.Is(err, context.Canceled) {
			level = slog.LevelInfo // the gateway is stopping: expected, and sent again
		}
		c.b.log.Log(context.Background(), level, "hand-off failed; publish not acknowledged, connection closed",
			"client_id", c.p.ID, "err", err)
		c.close(true)
		return errHandOff
	}
	var err error
	switch p.Qos {
	case 1:
		err = c.write(&packets.PubackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Puback},
			MessageID: p.MessageID})
	case 2:
		err = c.write(&packets.PubrecPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Pubrec},
			MessageID: p.MessageID})
	}
	c.b.route(p.TopicName, p.Payload, p.Qos)
	return err
}

// subscribe grants the filters the client's rules allow, at QoS 1 at most.
func (c *conn) subscribe(p *packets.SubscribePacket) error {
	codes := make([]byte, len(p.Topics))
	for i, f := range p.Topics {
		if p.Qoss[i] > 2 {
			return fmt.Errorf("%w: subscription QoS %d", errMalformed, p.Qoss[i])
		}
		if !validFilter(f) || !brokerauth.Allowed(c.p, f, false) {
			codes[i] = 0x80
			c.b.log.Warn("refused a subscription outside the client's topics", "client_id", c.p.ID, "filter", f)
			continue
		}
		codes[i] = min(p.Qoss[i], 1)
		c.b.subscribe(c, f, codes[i])
	}
	return c.write(&packets.SubackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Suback},
		MessageID: p.MessageID, ReturnCodes: codes})
}

// unsubscribe drops the filters.
func (c *conn) unsubscribe(p *packets.UnsubscribePacket) error {
	for _, f := range p.Topics {
		c.b.unsubscribe(c, f)
	}
	return c.write(&packets.UnsubackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Unsuback},
		MessageID: p.MessageID})
}

// write sends pk, within writeTimeout; a failed write closes the connection.
func (c *conn) write(pk packets.ControlPacket) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := pk.Write(c.nc); err != nil {
		c.close(false)
		return err
	}
	return nil
}

// close closes the connection; quiet: without its Last Will. It does not wait for
// a write in progress: closing the socket ends it.
func (c *conn) close(quiet bool) {
	if quiet {
		c.quiet.Store(true)
	}
	if !c.closed.Swap(true) {
		c.nc.Close()
	}
}

// end closes the connection, detaches it from its session and, unless it ended
// with a DISCONNECT, was taken over, its client is connected again or the broker is
// closing, sends its Last Will.
func (c *conn) end() {
	c.close(false)
	back := c.b.detach(c)
	if c.will == nil || back || c.quiet.Load() || c.b.closing.Load() {
		return
	}
	c.b.hook.willSent(c.p, c.will.TopicName, c.will.Payload)
	c.b.route(c.will.TopicName, c.will.Payload, c.will.Qos)
}
