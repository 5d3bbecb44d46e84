package broker

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/protocol"
	"carebed/internal/rawmqtt"
	"carebed/internal/testwait"
)

// rawClient speaks MQTT packet by packet, so a test can leave a message
// unacknowledged, drop the link without a DISCONNECT or stay silent.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

// rawConnect connects device (password "pw-"+device) with its Last Will and
// returns the client and its CONNACK.
func (s *site) rawConnect(t *testing.T, device string, clean bool, keepalive uint16) (*rawClient, *packets.ConnackPacket) {
	t.Helper()
	return rawConnectOver(t, s.link(t, nil), device, clean, keepalive)
}

// link opens a TCP connection to the broker, over TLS when the site serves it,
// written through hold when it is not nil.
func (s *site) link(t *testing.T, hold *holdConn) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.b.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if hold != nil {
		hold.Conn, nc = nc, hold
	}
	if !s.tls {
		return nc
	}
	return tls.Client(nc, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test's own certificate
}

// rawConnectOver is rawConnect over the link nc.
func rawConnectOver(t *testing.T, nc net.Conn, device string, clean bool, keepalive uint16) (*rawClient, *packets.ConnackPacket) {
	t.Helper()
	t.Cleanup(func() { nc.Close() })
	c := &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.Keepalive, cp.CleanSession = "MQTT", 4, keepalive, clean
	cp.ClientIdentifier, cp.UsernameFlag, cp.Username = device, true, device
	cp.PasswordFlag, cp.Password = true, []byte("pw-"+device)
	cp.WillFlag, cp.WillQos, cp.WillRetain = true, 1, true
	cp.WillTopic = protocol.DeviceTopic(device, protocol.KindStatus)
	cp.WillMessage = protocol.EncodeStatus(protocol.Status{Online: false})
	c.send(cp)
	ack, ok := c.read(5 * time.Second).(*packets.ConnackPacket)
	if !ok || ack.ReturnCode != packets.Accepted {
		t.Fatalf("%s: CONNACK %v", device, ack)
	}
	return c, ack
}

func (c *rawClient) send(pk packets.ControlPacket) {
	c.t.Helper()
	if err := pk.Write(c.nc); err != nil {
		c.t.Fatalf("write %v: %v", pk, err)
	}
}

// read returns the next packet, or nil when none comes within d.
func (c *rawClient) read(d time.Duration) packets.ControlPacket {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	pk, err := packets.ReadPacket(c.r)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return nil
		}
		c.t.Fatalf("read: %v", err)
	}
	return pk
}

// subscribe subscribes to the device's cmd topic at QoS 1.
func (c *rawClient) subscribe(device string) {
	c.t.Helper()
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{protocol.DeviceTopic(device, protocol.KindCmd)}, []byte{1}
	c.send(sp)
	if ack, ok := c.read(5 * time.Second).(*packets.SubackPacket); !ok || !slices.Equal(ack.ReturnCodes, []byte{1}) {
		c.t.Fatalf("SUBACK %v", ack)
	}
}

// publishes reads PUBLISH packets until none comes within d.
func (c *rawClient) publishes(d time.Duration) []*packets.PublishPacket {
	c.t.Helper()
	var out []*packets.PublishPacket
	for {
		pk := c.read(d)
		if pk == nil {
			return out
		}
		if p, ok := pk.(*packets.PublishPacket); ok {
			out = append(out, p)
		}
	}
}

func (c *rawClient) ack(p *packets.PublishPacket) {
	c.send(&packets.PubackPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Puback}, MessageID: p.MessageID})
}

func payloads(ps []*packets.PublishPacket) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p.Payload)
	}
	return out
}

// TestSessionKeepsCommandsForTheDevice: a device with a persistent session gets
// the QoS 1 commands it did not acknowledge and those sent while it was away when it
// connects again, once acknowledged never again; a clean session starts empty.
func TestSessionKeepsCommandsForTheDevice(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	cmd := protocol.DeviceTopic(dev, protocol.KindCmd)
	c, ack := s.rawConnect(t, dev, false, 60)
	if ack.SessionPresent {
		t.Error("session present at the first connection")
	}
	c.subscribe(dev)
	if err := s.b.Publish(cmd, []byte("a"), 1); err != nil {
		t.Fatal(err)
	}
	if got := c.publishes(300 * time.Millisecond); !slices.Equal(payloads(got), []string{"a"}) || got[0].Dup {
		t.Fatalf("connected: got %v, want a once, not a duplicate", got)
	}
	c.nc.Close() // not acknowledged
	testwait.Until(t, 5*time.Second, "the connection gone", func() (bool, string) {
		return s.b.Connections() == 0, fmt.Sprint(s.b.Connections())
	})
	if err := s.b.Publish(cmd, []byte("b"), 1); err != nil {
		t.Fatal(err)
	}

	c, ack = s.rawConnect(t, dev, false, 60)
	if !ack.SessionPresent {
		t.Error("session not present after a reconnect")
	}
	got := c.publishes(300 * time.Millisecond)
	if !slices.Equal(payloads(got), []string{"a", "b"}) || !got[0].Dup {
		t.Fatalf("reconnected: got %v, want a again (a duplicate) and b", got)
	}
	for _, p := range got {
		c.ack(p)
	}
	c.send(&packets.DisconnectPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Disconnect}})
	// Read to its end before the next connection: one that took over earlier would
	// close this link with the acknowledgements unread, and a and b would come again
	// (QoS 1 allows it; this test is about what was acknowledged).
	testwait.Until(t, 5*time.Second, "the connection gone", func() (bool, string) {
		return s.b.Connections() == 0, fmt.Sprint(s.b.Connections())
	})
	c, _ = s.rawConnect(t, dev, false, 60)
	if got := c.publishes(300 * time.Millisecond); len(got) != 0 {
		t.Fatalf("acknowledged messages sent again: %v", payloads(got))
	}
	if err := s.b.Publish(cmd, []byte("c"), 1); err != nil {
		t.Fatal(err)
	}
	c.nc.Close()
	c, ack = s.rawConnect(t, dev, true, 60)
	if got := c.publishes(300 * time.Millisecond); ack.SessionPresent || len(got) != 0 {
		t.Fatalf("clean session: present %v, sent %v", ack.SessionPresent, payloads(got))
	}
}

// TestSessionDropsTheOldestPastItsBound: a device away while more QoS 1 commands
// come than its session holds gets the newest maxPending; the others are counted.
func TestSessionDropsTheOldestPastItsBound(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	c, _ := s.rawConnect(t, dev, false, 60)
	c.subscribe(dev)
	c.send(&packets.DisconnectPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Disconnect}})
	testwait.Until(t, 5*time.Second, "the connection gone", func() (bool, string) {
		return s.b.Connections() == 0, fmt.Sprint(s.b.Connections())
	})
	const sent = maxPending + 6
	for i := range sent {
		if err := s.b.Publish(protocol.DeviceTopic(dev, protocol.KindCmd), fmt.Appendf(nil, "%d", i), 1); err != nil {
			t.Fatal(err)
		}
	}
	c, _ = s.rawConnect(t, dev, false, 60)
	got := payloads(c.publishes(300 * time.Millisecond))
	if len(got) != maxPending || got[0] != "6" || got[len(got)-1] != fmt.Sprint(sent-1) {
		t.Fatalf("got %d messages, %v ... %v; want 6 to %d", len(got), got[:min(len(got), 1)], got[max(len(got)-1, 0):], sent-1)
	}
	if n := testutil.ToFloat64(s.b.overflow); n != sent-maxPending {
		t.Errorf("queue_dropped = %v, want %d", n, sent-maxPending)
	}
}

// TestLastWill: a device's Last Will is handed off when its link drops or it falls
// silent past a keepalive and a half, not when it says DISCONNECT or a new
// connection of the same device takes over; over TCP and over TLS, whose reader
// waits for input in awaitInput.
func TestLastWill(t *testing.T) {
	for _, c := range []struct {
		name      string
		keepalive uint16
		end       func(s *site, c *rawClient)
		will      bool
	}{
		{"link dropped", 60, func(_ *site, c *rawClient) { c.nc.Close() }, true},
		{"silent past its keepalive", 1, func(*site, *rawClient) {}, true},
		{"DISCONNECT", 60, func(_ *site, c *rawClient) {
			c.send(&packets.DisconnectPacket{FixedHeader: packets.FixedHeader{MessageType: packets.Disconnect}})
		}, false},
		{"taken over", 60, func(s *site, c *rawClient) {
			s.rawConnect(c.t, siteDevices[0], false, 60)
			if !rawmqtt.ClosedWithin(c.nc, 5*time.Second) {
				c.t.Error("the first connection still open after a second took over")
			}
		}, false},
	} {
		for _, transport := range []string{"tcp", "tls"} {
			t.Run(c.name+"/"+transport, func(t *testing.T) {
				s := siteOver(t, transport)
				rc, _ := s.rawConnect(t, siteDevices[0], false, c.keepalive)
				start := time.Now()
				c.end(s, rc)
				if !c.will {
					time.Sleep(500 * time.Millisecond)
					if got := s.ingest.topics(); len(got) != 0 {
						t.Fatalf("handed off %v", got)
					}
					return
				}
				testwait.Until(t, 5*time.Second, "the Last Will handed off", func() (bool, string) {
					got := s.ingest.topics()
					return slices.Equal(got, []string{protocol.DeviceTopic(siteDevices[0], protocol.KindStatus)}), fmt.Sprint(got)
				})
				if c.keepalive == 1 && time.Since(start) < time.Second {
					t.Errorf("silent device's Last Will after %v, before its keepalive", time.Since(start))
				}
			})
		}
	}
}

// TestMalformedPacketsCloseOnlyTheirConnection: a packet that breaks the protocol
// closes its connection and is never handed off; a device beside it is served.
func TestMalformedPacketsCloseOnlyTheirConnection(t *testing.T) {
	dev := siteDevices[1]
	topic := protocol.DeviceTopic(dev, protocol.KindTelemetry)
	publish := func(first byte, topic string, rest ...byte) []byte {
		body := append([]byte{0, byte(len(topic))}, topic...)
		body = append(body, rest...)
		return append(append([]byte{first}, rawmqtt.RemainingLength(len(body))...), body...)
	}
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"QoS 3", publish(0x36, topic, 0, 1, '{', '}')},
		{"wildcard topic", publish(0x32, protocol.Prefix+dev+"/+", 0, 1, '{', '}')},
		{"topic longer than the packet", []byte{0x30, 4, 0, 10, 'a', 'b'}},
		{"SUBSCRIBE with wrong flags", []byte{0x80, 6, 0, 1, 0, 1, 'x', 1}},
		{"second CONNECT", []byte{0x10, 2, 0, 0}},
		{"packet only a server sends", []byte{0x20, 2, 0, 0}},
		{"another device's topic", publish(0x32, protocol.DeviceTopic(siteDevices[0], protocol.KindTelemetry), 0, 1, '{', '}')},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSite(t, nil)
			good, _ := s.rawConnect(t, siteDevices[0], true, 60)
			bad, _ := s.rawConnect(t, dev, true, 60)
			if _, err := bad.nc.Write(c.raw); err != nil {
				t.Fatal(err)
			}
			if !rawmqtt.ClosedWithin(bad.nc, 5*time.Second) {
				t.Fatal("connection still open")
			}
			pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
			pp.Qos, pp.MessageID = 1, 7
			pp.TopicName = protocol.DeviceTopic(siteDevices[0], protocol.KindTelemetry)
			pp.Payload = protocol.EncodeReading(protocol.Reading{Seq: 1})
			good.send(pp)
			if ack, ok := good.read(5 * time.Second).(*packets.PubackPacket); !ok || ack.MessageID != 7 {
				t.Fatalf("the good device's publish: %v", ack)
			}
			want := []string{pp.TopicName, protocol.DeviceTopic(dev, protocol.KindStatus)} // and the bad one's Last Will
			testwait.Until(t, 5*time.Second, "the good reading and the Last Will", func() (bool, string) {
				got := s.ingest.topics()
				slices.Sort(got)
				slices.Sort(want)
				return slices.Equal(got, want), fmt.Sprint(got)
			})
		})
	}
}

// TestTakeoverDoesNotWaitForAStalledWrite: while the gateway's write to a device's
// dead link is blocked (the device reads nothing, its socket is full), the device's
// new connection takes over at once, and other devices connect meanwhile.
func TestTakeoverDoesNotWaitForAStalledWrite(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	stalled, _ := s.rawConnect(t, dev, false, 60)
	stalled.subscribe(dev)
	done := make(chan struct{}, 1)
	go func() {
		big := make([]byte, 60<<10)
		for s.b.Publish(protocol.DeviceTopic(dev, protocol.KindCmd), big, 0) == nil {
			select {
			case done <- struct{}{}:
			default:
			}
		}
	}()
	testwait.Until(t, 20*time.Second, "a write to the device that reads nothing blocked", func() (bool, string) {
		select {
		case <-done:
			return false, "still writing"
		case <-time.After(300 * time.Millisecond):
			return true, ""
		}
	})
	start := time.Now()
	other, _ := s.rawConnect(t, siteDevices[1], true, 60)
	s.rawConnect(t, dev, false, 60)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("connects took %v while a write was blocked", d)
	}
	t.Logf("two connects in %v while a write to the device's old link was blocked", time.Since(start))
	if !rawmqtt.ClosedWithin(stalled.nc, 5*time.Second) {
		t.Error("the stalled connection still open")
	}
	other.nc.Close()
}

// TestMQTT5IsRefusedWithItsCode: a client asking for MQTT 5 gets CONNACK 1
// (unacceptable protocol version) rather than a closed socket, so its library can
// say why and fall back.
func TestMQTT5IsRefusedWithItsCode(t *testing.T) {
	s := newSite(t, nil)
	nc, err := net.DialTimeout("tcp", s.b.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// MQTT 5 CONNECT: name, level 5, flags (clean), keepalive 60, no properties,
	// client id "bed-0001".
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 8}, "bed-0001"...)
	if _, err := nc.Write(append(append([]byte{0x10}, rawmqtt.RemainingLength(len(body))...), body...)); err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
	ack, ok := c.read(5 * time.Second).(*packets.ConnackPacket)
	if !ok || ack.ReturnCode != packets.ErrRefusedBadProtocolVersion {
		t.Fatalf("got %v, want CONNACK 1", ack)
	}
	if !rawmqtt.ClosedWithin(nc, 5*time.Second) {
		t.Error("connection still open after the refusal")
	}
}

// TestSubscriptionsOnlyToOwnTopics: a device is granted its own cmd topic and
// refused (0x80) wildcards and another device's topic, in one SUBSCRIBE.
func TestSubscriptionsOnlyToOwnTopics(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	c, _ := s.rawConnect(t, dev, true, 60)
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID = 3
	sp.Topics = []string{protocol.DeviceTopic(dev, protocol.KindCmd), protocol.Prefix + "+/cmd", "#",
		protocol.DeviceTopic(siteDevices[1], protocol.KindCmd)}
	sp.Qoss = []byte{1, 1, 0, 1}
	c.send(sp)
	ack, ok := c.read(5 * time.Second).(*packets.SubackPacket)
	if !ok || !slices.Equal(ack.ReturnCodes, []byte{1, 0x80, 0x80, 0x80}) {
		t.Fatalf("SUBACK %v, want [1 128 128 128]", ack)
	}
}
