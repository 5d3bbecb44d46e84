package broker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/ingest"
	"carebed/gateway/protocol"
	"carebed/internal/rawmqtt"
	"carebed/internal/testwait"
)

// connectPacket is a CONNECT of user (password "pw-"+user) with a Last Will on
// willTopic, none when it is empty.
func connectPacket(user string, clean bool, willTopic string) *packets.ConnectPacket {
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.Keepalive, cp.CleanSession = "MQTT", 4, 60, clean
	cp.ClientIdentifier, cp.UsernameFlag, cp.Username = user, true, user
	cp.PasswordFlag, cp.Password = true, []byte("pw-"+user)
	if willTopic != "" {
		cp.WillFlag, cp.WillQos, cp.WillTopic, cp.WillMessage = true, 1, willTopic, []byte("forged")
	}
	return cp
}

// TestLastWillHeldToTheClientsRules: a Last Will on a topic the client may not
// publish to is refused at CONNECT (as Mosquitto refuses it), so nobody can page a
// responder or send a device "help is coming" by dropping a link.
func TestLastWillHeldToTheClientsRules(t *testing.T) {
	for _, c := range []struct{ user, will string }{
		{siteResponders[0], protocol.DeviceTopic(siteDevices[0], protocol.KindCmd)},
		{siteResponders[0], protocol.Prefix + "responders/" + siteResponders[1] + "/alerts"},
		{siteDevices[1], protocol.DeviceTopic(siteDevices[0], protocol.KindStatus)},
	} {
		t.Run(c.user+" "+c.will, func(t *testing.T) {
			s := newSite(t, nil)
			nc := dialFrom(t, "127.0.0.1", s.b.Addr().String())
			rc := &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
			rc.send(connectPacket(c.user, true, c.will))
			if ack, ok := rc.read(5 * time.Second).(*packets.ConnackPacket); !ok || ack.ReturnCode != packets.ErrRefusedNotAuthorised {
				t.Fatalf("got %v, want CONNACK 5", ack)
			}
			if n := s.refused(refusedWill); n != 1 {
				t.Errorf("refused{will_not_allowed} = %v, want 1", n)
			}
		})
	}
}

// TestNothingBeforeTheConnack: a device reconnecting while the gateway publishes to
// it gets its CONNACK first (paho drops a link whose first packet is anything else,
// and the broker would send its Last Will: a false offline and a reconnect loop).
func TestNothingBeforeTheConnack(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	c, _ := s.rawConnect(t, dev, false, 60)
	c.subscribe(dev)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			s.b.Publish(protocol.DeviceTopic(dev, protocol.KindCmd), []byte("x"), 0)
		}
	}()
	defer wg.Wait()
	defer stop.Store(true)
	for i := range 200 {
		nc := dialFrom(t, "127.0.0.1", s.b.Addr().String())
		rc := &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
		rc.send(connectPacket(dev, false, ""))
		if _, ok := rc.read(5 * time.Second).(*packets.ConnackPacket); !ok {
			t.Fatalf("connection %d: the first packet was not the CONNACK", i)
		}
		nc.Close()
	}
}

// TestLinkLostBeforeItsConnackLeavesNoSession: a device whose link resets right
// after its CONNECT leaves no connection counted and no clean session behind, and
// its Last Will goes as for any lost link.
func TestLinkLostBeforeItsConnackLeavesNoSession(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	for i := range 20 {
		nc := dialFrom(t, "127.0.0.1", s.b.Addr().String())
		if err := connectPacket(dev, true, protocol.DeviceTopic(dev, protocol.KindStatus)).Write(nc); err != nil {
			t.Fatal(err)
		}
		nc.(*net.TCPConn).SetLinger(0) // a reset, not a FIN
		nc.Close()
		testwait.Until(t, 5*time.Second, fmt.Sprintf("connection %d gone with its session", i), func() (bool, string) {
			s.b.mu.Lock()
			_, held := s.b.sessions[dev]
			s.b.mu.Unlock()
			return s.b.Connections() == 0 && !held, fmt.Sprintf("connections %d, session held %v", s.b.Connections(), held)
		})
	}
}

// gateIngest holds the hand-off of a message whose payload is "block" until gate
// closes.
type gateIngest struct {
	fakeIngest
	gate chan struct{}
	in   chan struct{}
}

func (g *gateIngest) Handle(ctx context.Context, msgs []ingest.Message) error {
	if string(msgs[0].Payload) == "block" {
		g.in <- struct{}{}
		<-g.gate
	}
	return g.fakeIngest.Handle(ctx, msgs)
}

// TestTakenOverConnectionChangesNothing: the packets a connection had already sent
// when a new connection of its device took over (here a SUBSCRIBE behind a slow
// hand-off) change neither the forgotten session nor the new one, so no session
// outside the broker's list stays subscribed, filling with copies of every command.
func TestTakenOverConnectionChangesNothing(t *testing.T) {
	gi := &gateIngest{gate: make(chan struct{}), in: make(chan struct{}, 1)}
	s := newSite(t, func(o *Options) { o.Ingest = gi })
	dev := siteDevices[0]
	cmd := protocol.DeviceTopic(dev, protocol.KindCmd)
	old, _ := s.rawConnect(t, dev, true, 60)
	var buf bytes.Buffer
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.TopicName, pp.Payload = protocol.DeviceTopic(dev, protocol.KindTelemetry), []byte("block")
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{cmd}, []byte{1}
	if pp.Write(&buf) != nil || sp.Write(&buf) != nil {
		t.Fatal("encode")
	}
	if _, err := old.nc.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	<-gi.in
	cur, _ := s.rawConnect(t, dev, true, 60) // clean: the old session is forgotten
	close(gi.gate)
	testwait.Until(t, 5*time.Second, "the old connection's goroutine ended", func() (bool, string) {
		return s.b.Connections() == 1, fmt.Sprint(s.b.Connections())
	})
	if got := s.b.subs.match(cmd); len(got) != 0 {
		t.Fatalf("%d sessions subscribed to %s, which only the old connection asked for", len(got), cmd)
	}
	cur.subscribe(dev)
	if err := s.b.Publish(cmd, []byte("c"), 1); err != nil {
		t.Fatal(err)
	}
	if got := cur.publishes(300 * time.Millisecond); len(got) != 1 {
		t.Fatalf("the device got %d copies of one command", len(got))
	}
	if n := len(s.b.subs.match(cmd)); n != 1 {
		t.Errorf("%d sessions subscribed, want the device's one", n)
	}
}

// failOnce fails its first hand-off.
type failOnce struct {
	fakeIngest
	failed atomic.Bool
}

func (f *failOnce) Handle(ctx context.Context, msgs []ingest.Message) error {
	if !f.failed.Swap(true) {
		return errors.New("spool write failed")
	}
	return f.fakeIngest.Handle(ctx, msgs)
}

// TestFailedHandOffClosesTheLink: a publish the broker could not hand off is not
// acknowledged, and its link is closed without the Last Will, so the device
// reconnects and sends it again (MQTT 3.1.1 clients resend only after a reconnect;
// a device that keeps pinging would otherwise hold its SOS for ever).
func TestFailedHandOffClosesTheLink(t *testing.T) {
	fi := &failOnce{}
	s := newSite(t, func(o *Options) { o.Ingest = fi })
	dev := siteDevices[0]
	c, _ := s.rawConnect(t, dev, false, 60)
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.Qos, pp.MessageID, pp.TopicName = 1, 9, protocol.DeviceTopic(dev, protocol.KindEvent)
	pp.Payload = protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS})
	c.send(pp)
	if !rawmqtt.ClosedWithin(c.nc, 5*time.Second) {
		t.Fatal("the link stays open with the SOS neither handed off nor acknowledged")
	}
	if got := fi.topics(); len(got) != 0 {
		t.Fatalf("handed off %v: the Last Will of a device that is not gone", got)
	}
	c, _ = s.rawConnect(t, dev, false, 60)
	pp.Dup = true
	c.send(pp)
	if ack, ok := c.read(5 * time.Second).(*packets.PubackPacket); !ok || ack.MessageID != 9 {
		t.Fatalf("the SOS sent again: %v", ack)
	}
	if got := fi.topics(); len(got) != 1 || got[0] != pp.TopicName {
		t.Fatalf("handed off %v, want the SOS", got)
	}
}

// TestSessionDropsMessagesADayOld: a command that waited a day for its device is
// not sent when the device comes back, and is counted.
func TestSessionDropsMessagesADayOld(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC).UnixNano())
	s := newSite(t, func(o *Options) { o.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	dev := siteDevices[0]
	cmd := protocol.DeviceTopic(dev, protocol.KindCmd)
	c, _ := s.rawConnect(t, dev, false, 60)
	c.subscribe(dev)
	c.send(&packets.DisconnectPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Disconnect}})
	testwait.Until(t, 5*time.Second, "the connection gone", func() (bool, string) {
		return s.b.Connections() == 0, fmt.Sprint(s.b.Connections())
	})
	s.b.Publish(cmd, []byte("old"), 1)
	now.Add(int64(20 * time.Hour))
	s.b.Publish(cmd, []byte("new"), 1)
	now.Add(int64(5 * time.Hour))
	c, _ = s.rawConnect(t, dev, false, 60)
	if got := payloads(c.publishes(300 * time.Millisecond)); len(got) != 1 || got[0] != "new" {
		t.Fatalf("got %v, want only the command of 5 hours ago", got)
	}
	if n := testutil.ToFloat64(s.b.overflow); n != 1 {
		t.Errorf("queue_dropped = %v, want 1", n)
	}
}

// TestClosingATLSLinkDoesNotWaitForItsPeer: over TLS, closing a connection whose
// peer reads nothing (a takeover, the broker's close) does not wait for the TLS
// close_notify to be written: another device connects meanwhile at once, and the
// broker closes in well under the 5 s crypto/tls gives that write. The links are
// pipes: a peer that stops reading is full at once.
func TestClosingATLSLinkDoesNotWaitForItsPeer(t *testing.T) {
	cfg, _ := serverTLS(t)
	pl := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	s := newSite(t, func(o *Options) { o.Listener, o.TLS = pl, cfg })
	pl.dial(t, siteDevices[0]) // and then reads nothing
	start := time.Now()
	took := make(chan error, 1)
	go func() { took <- pl.connect(siteDevices[0]) }() // takes over
	if err := pl.connect(siteDevices[1]); err != nil {
		t.Fatal(err)
	}
	if err := <-took; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a takeover and another device's connect took %v", d)
	}
	start = time.Now()
	s.b.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with peers that read nothing", d)
	}
}

// pipeListener hands the broker the server ends of net.Pipe links.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// dial connects dev over TLS through a pipe and returns once it has its CONNACK.
func (l *pipeListener) dial(t *testing.T, dev string) {
	t.Helper()
	if err := l.connect(dev); err != nil {
		t.Fatal(err)
	}
}

func (l *pipeListener) connect(dev string) error {
	a, b := net.Pipe()
	l.conns <- b
	nc := tls.Client(a, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test's own certificate
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := connectPacket(dev, false, "").Write(nc); err != nil {
		return err
	}
	pk, err := packets.ReadPacket(bufio.NewReader(nc))
	if _, ok := pk.(*packets.ConnackPacket); !ok {
		return fmt.Errorf("%s: %v, %v", dev, pk, err)
	}
	return nil
}

// TestConcurrentTakeoversPublishesAndRechecks: connections of one device taking
// each other over, subscribing and acknowledging, while the gateway publishes to it
// and rechecks, then the broker's close: no race (go test -race), no hang, and no
// session left subscribed outside the broker's list.
func TestConcurrentTakeoversPublishesAndRechecks(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	cmd := protocol.DeviceTopic(dev, protocol.KindCmd)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			s.b.Publish(cmd, []byte("x"), 1)
			s.b.Recheck()
		}
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				churn(s.b.Addr().String(), dev, (i+w)%2 == 0)
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-done
	s.b.mu.Lock()
	for _, ss := range s.b.subs.match(cmd) {
		if s.b.sessions[dev] != ss {
			t.Error("a session outside the broker's list is subscribed")
		}
	}
	s.b.mu.Unlock()
	closed := make(chan struct{})
	go func() { s.b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
}

// churn connects dev, subscribes, acknowledges what comes for 50 ms and drops the
// link.
func churn(addr, dev string, clean bool) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer nc.Close()
	var buf bytes.Buffer
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{protocol.DeviceTopic(dev, protocol.KindCmd)}, []byte{1}
	if connectPacket(dev, clean, "").Write(&buf) != nil || sp.Write(&buf) != nil {
		return
	}
	if _, err := nc.Write(buf.Bytes()); err != nil {
		return
	}
	r := bufio.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	for {
		pk, err := packets.ReadPacket(r)
		if err != nil {
			return
		}
		if p, ok := pk.(*packets.PublishPacket); ok && p.Qos == 1 {
			ack := packets.PubackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Puback}, MessageID: p.MessageID}
			if ack.Write(nc) != nil {
				return
			}
		}
	}
}
