package broker

import (
	"bytes"
	"carebed/internal/rawmqtt"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/brokerauth"
	"carebed/gateway/protocol"
	"carebed/internal/testwait"
)

// dialFrom opens a TCP connection to addr from the loopback address ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send writes up to limit bytes of the body of a packet to c in 64 KiB pieces until
// the peer stops taking them; it returns how many it took.
func send(c net.Conn, limit int) int {
	chunk := make([]byte, 64<<10)
	sent := 0
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for sent < limit {
		n, err := c.Write(chunk)
		sent += n
		if err != nil {
			break
		}
	}
	return sent
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestOversizeConnectIsRefusedBeforeItsBodyIsRead: six connections declaring 200 MB
// CONNECT packets are closed as soon as their length is read; the broker never
// allocates what they declare.
func TestOversizeConnectIsRefusedBeforeItsBodyIsRead(t *testing.T) {
	s := newSite(t, nil)
	before := heapInuse()
	const declared, body = 200 << 20, 8 << 20
	conns := make([]net.Conn, 6)
	for i := range conns {
		conns[i] = dialFrom(t, "127.0.0.1", s.b.Addr().String())
		if _, err := conns[i].Write(append([]byte{0x10}, rawmqtt.RemainingLength(declared)...)); err != nil {
			t.Fatal(err)
		}
	}
	grown := int64(heapInuse()) - int64(before)
	for i, c := range conns {
		sent := send(c, body)
		if !rawmqtt.ClosedWithin(c, 5*time.Second) {
			t.Errorf("connection %d still open after it declared a %d-byte CONNECT and sent %d bytes of it", i, declared, sent)
		}
	}
	if grown > 50<<20 {
		t.Errorf("the heap grew by %d MB after six 200 MB CONNECT headers", grown>>20)
	}
	testwait.Until(t, 5*time.Second, "six refusals counted", func() (bool, string) {
		n := s.refused(refusedPacketLarge)
		return n == 6, fmt.Sprint(n)
	})
}

// TestOversizePublishClosesTheConnection: a device's packet over
// brokerauth.MaxPacketSize ends its connection and is not handed off; a full 64 KiB
// batch, the protocol's largest message, still goes through.
func TestOversizePublishClosesTheConnection(t *testing.T) {
	s := newSite(t, nil)
	dev := siteDevices[0]
	lost := make(chan string, 1)
	c, err := s.dial(dev, dev, lost)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(0)
	topic := protocol.DeviceTopic(dev, protocol.KindTelemetry)
	full := bytes.Repeat([]byte{' '}, protocol.MaxBatchSize) // the decoder's business, not the broker's
	if tok := c.Publish(topic, 1, false, full); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("a %d-byte payload: %v", len(full), tok.Error())
	}
	c.Publish(topic, 1, false, make([]byte, brokerauth.MaxPacketSize))
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("still connected after a packet over the limit")
	}
	n := 0
	for _, topic := range s.ingest.topics() {
		if strings.HasSuffix(topic, "/telemetry") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("handed off %d telemetry messages, want 1 (the full batch only)", n)
	}
	// The client may notice the closed connection before the broker has counted it.
	testwait.Until(t, 10*time.Second, "the disconnect counted", func() (bool, string) {
		n := testutil.ToFloat64(s.b.dropped.WithLabelValues(refusedPacketLarge))
		return n == 1, fmt.Sprintf("disconnected{packet_too_large} = %v, want 1", n)
	})
}

// TestConnectionFloodLeavesRoomForDevices: connections that never finish their
// CONNECT are bounded per address and in all, closed after the connect timeout,
// and a device from another address connects meanwhile.
func TestConnectionFloodLeavesRoomForDevices(t *testing.T) {
	if _, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	lim := Limits{MaxConnecting: 8, MaxConnectingPerAddress: 4, MaxConnectionsPerAddress: 6, ConnectTimeout: 4 * time.Second}
	s := newSite(t, func(o *Options) { o.Limits = lim })
	addr := s.b.Addr().String()

	var flood []net.Conn
	for range 20 {
		flood = append(flood, dialFrom(t, "127.0.0.2", addr))
	}
	testwait.Until(t, 5*time.Second, "the connections past the per-address bound refused", func() (bool, string) {
		n := s.refused(refusedAddrBusy)
		return n == 16, fmt.Sprint(n)
	})
	open := 0
	for _, c := range flood {
		if !rawmqtt.ClosedWithin(c, 20*time.Millisecond) {
			open++
		}
	}
	if open != lim.MaxConnectingPerAddress {
		t.Errorf("%d of 20 stalled connections from one address kept open, want %d", open, lim.MaxConnectingPerAddress)
	}

	// A device from another address is not crowded out.
	dev := siteDevices[0]
	c, err := s.dial(dev, dev, nil)
	if err != nil {
		t.Fatalf("a device could not connect during a flood from another address: %v", err)
	}
	c.Disconnect(0)

	// Four more addresses fill the global bound: the next is refused.
	for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
		for range 2 {
			dialFrom(t, ip, addr)
		}
	}
	late := dialFrom(t, "127.0.0.5", addr)
	if !rawmqtt.ClosedWithin(late, time.Second) {
		t.Error("a connection past max_connecting was kept open")
	}
	testwait.Until(t, 5*time.Second, "the connection past the bound refused", func() (bool, string) {
		n := s.refused(refusedBusy)
		return n == 1, fmt.Sprint(n)
	})

	// The stalled ones are closed after the connect timeout, and room is back.
	testwait.Until(t, 3*lim.ConnectTimeout, "stalled connections timed out", func() (bool, string) {
		n := s.refused(refusedTimeout)
		return n == 8, fmt.Sprint(n)
	})
	if c, err = s.dial(dev, dev, nil); err != nil {
		t.Fatalf("a device could not connect after the flood: %v", err)
	}
	c.Disconnect(0)
}
