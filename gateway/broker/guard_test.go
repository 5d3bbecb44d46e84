package broker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/brokerauth"
	"carebed/gateway/protocol"
	"carebed/internal/rawmqtt"
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

// limitedSite is a site whose broker has lim, and its address. The guard's tests
// dial from 127.0.0.2 and up, which Linux has on loopback; without them the test
// skips, and fails in CI.
func limitedSite(t *testing.T, lim Limits) (*site, string) {
	t.Helper()
	if l, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no 127.0.0.2 on this machine: %v", err)
		}
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	} else {
		l.Close()
	}
	s := newSite(t, func(o *Options) { o.Limits = lim })
	return s, s.b.Addr().String()
}

// dialInBackground connects device dev (and disconnects it) in a goroutine; the
// channel has the connect's error.
func (s *site) dialInBackground(dev string) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := s.dial(dev, dev, nil)
		if err == nil {
			c.Disconnect(0)
		}
		done <- err
	}()
	return done
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
	// A waiting room of 4, two places an address.
	lim := Limits{MaxConnecting: 8, MaxConnectingPerAddress: 4, MaxConnectionsPerAddress: 6, ConnectTimeout: 4 * time.Second,
		MaxWaiting: 4}
	s, addr := limitedSite(t, lim)

	var flood []net.Conn
	for range 20 {
		flood = append(flood, dialFrom(t, "127.0.0.2", addr))
	}
	testwait.Until(t, 5*time.Second, "the connections past the per-address bound refused", func() (bool, string) {
		n := s.refused(refusedAddrBusy)
		return n == 14, fmt.Sprint(n)
	})
	open := 0
	for _, c := range flood {
		if !rawmqtt.ClosedWithin(c, 20*time.Millisecond) {
			open++
		}
	}
	if want := lim.MaxConnectionsPerAddress; open != want {
		t.Errorf("%d of 20 stalled connections from one address kept open, want %d (4 connecting, 2 waiting)", open, want)
	}

	// A device from another address is not crowded out.
	dev := siteDevices[0]
	c, err := s.dial(dev, dev, nil)
	if err != nil {
		t.Fatalf("a device could not connect during a flood from another address: %v", err)
	}
	c.Disconnect(0)

	// Two more addresses fill the global bound, two more the waiting room: the next
	// is refused.
	for _, ip := range []string{"127.0.0.3", "127.0.0.3", "127.0.0.4", "127.0.0.4", "127.0.0.5", "127.0.0.6"} {
		dialFrom(t, ip, addr)
	}
	late := dialFrom(t, "127.0.0.7", addr)
	if !rawmqtt.ClosedWithin(late, time.Second) {
		t.Error("a connection past max_connecting, with the waiting room full, was kept open")
	}
	testwait.Until(t, 5*time.Second, "the connection past the bound refused", func() (bool, string) {
		n := s.refused(refusedBusy)
		return n == 1, fmt.Sprint(n)
	})

	// The stalled ones, connecting and waiting, are closed after the connect timeout,
	// and room is back.
	testwait.Until(t, 3*lim.ConnectTimeout, "stalled connections timed out", func() (bool, string) {
		n := s.refused(refusedTimeout)
		return n == 12, fmt.Sprint(n)
	})
	if c, err = s.dial(dev, dev, nil); err != nil {
		t.Fatalf("a device could not connect after the flood: %v", err)
	}
	c.Disconnect(0)
}

// A device that comes while every connecting slot is taken waits, unread, and
// connects as soon as one is given back, instead of being closed to back off: a
// township's devices coming back at once, faster than their handshakes finish.
func TestConnectingPastTheBoundWaitsForASlot(t *testing.T) {
	lim := Limits{MaxConnecting: 2, MaxConnectingPerAddress: 2, MaxConnectionsPerAddress: 100, ConnectTimeout: 5 * time.Second,
		MaxWaiting: 8}
	s, addr := limitedSite(t, lim)
	first := dialFrom(t, "127.0.0.2", addr)
	dialFrom(t, "127.0.0.2", addr)

	done := s.dialInBackground(siteDevices[0])
	select {
	case err := <-done:
		t.Fatalf("the device's connect ended (%v) while both connecting slots were taken; want it waiting", err)
	case <-time.After(300 * time.Millisecond):
	}
	first.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the waiting device: %v", err)
		}
	case <-time.After(lim.ConnectTimeout):
		t.Fatal("the waiting device did not get the slot given back")
	}
	for _, reason := range []string{refusedBusy, refusedAddrBusy, refusedTimeout} {
		if n := s.refused(reason); n != 0 {
			t.Errorf("refused %s: %v, want none", reason, n)
		}
	}
}

// The waiting room is bounded, half of it an address, and a connection that waits
// past its connect timeout is closed and counted.
func TestWaitingRoomIsBoundedAndTimesOut(t *testing.T) {
	lim := Limits{MaxConnecting: 4, MaxConnectingPerAddress: 1, MaxConnectionsPerAddress: 100, ConnectTimeout: 2 * time.Second,
		MaxWaiting: 4}
	s, addr := limitedSite(t, lim)
	var kept []net.Conn
	for range 3 { // one connecting, two waiting: the address's half of the room
		kept = append(kept, dialFrom(t, "127.0.0.2", addr))
	}
	over := dialFrom(t, "127.0.0.2", addr)
	if !rawmqtt.ClosedWithin(over, time.Second) {
		t.Fatal("a connection past the address's share of the waiting room was kept open")
	}
	if n := s.refused(refusedAddrBusy); n != 1 {
		t.Errorf("refused too_many_from_address: %v, want 1", n)
	}
	for i, c := range kept {
		if !rawmqtt.ClosedWithin(c, lim.ConnectTimeout+3*time.Second) {
			t.Errorf("stalled connection %d still open after its connect timeout", i)
		}
	}
	testwait.Until(t, 5*time.Second, "the three counted as timed out", func() (bool, string) {
		n := s.refused(refusedTimeout)
		return n == 3, fmt.Sprint(n)
	})
}

// A freed slot goes to the oldest waiter that may have it: one from an address at its
// own bound is passed over, not waited for.
func TestAWaiterFromAnAddressAtItsBoundIsPassedOver(t *testing.T) {
	lim := Limits{MaxConnecting: 3, MaxConnectingPerAddress: 2, MaxConnectionsPerAddress: 100, ConnectTimeout: 8 * time.Second,
		MaxWaiting: 8}
	s, addr := limitedSite(t, lim)
	dialFrom(t, "127.0.0.2", addr)
	dialFrom(t, "127.0.0.2", addr) // 127.0.0.2 at its bound
	third := dialFrom(t, "127.0.0.3", addr)
	dialFrom(t, "127.0.0.2", addr) // waits first, for 127.0.0.2's bound
	testwait.Until(t, 5*time.Second, "one waiting", func() (bool, string) {
		n := s.b.guard.waitingNow()
		return n == 1, fmt.Sprint(n)
	})
	done := s.dialInBackground(siteDevices[0]) // waits second, for the global bound
	testwait.Until(t, 5*time.Second, "the device waiting too", func() (bool, string) {
		n := s.b.guard.waitingNow()
		return n == 2, fmt.Sprint(n)
	})
	third.Close() // a global slot, which 127.0.0.2's waiter may not have
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the device behind a waiter that may not have the slot: %v", err)
		}
	case <-time.After(lim.ConnectTimeout / 2):
		t.Fatal("the device did not get the slot; the waiter ahead of it held the line")
	}
	if n := s.b.guard.waitingNow(); n != 1 {
		t.Errorf("%v waiting, want 127.0.0.2's one", n)
	}
}

// Waiting connections count towards an address's max_connections_per_address, and the
// broker's close closes them.
func TestWaitersCountTowardsTheAddressBound(t *testing.T) {
	lim := Limits{MaxConnecting: 1, MaxConnectingPerAddress: 1, MaxConnectionsPerAddress: 3, ConnectTimeout: 8 * time.Second,
		MaxWaiting: 100}
	s, addr := limitedSite(t, lim)
	var kept []net.Conn
	for range 3 { // one connecting, two waiting
		kept = append(kept, dialFrom(t, "127.0.0.2", addr))
	}
	over := dialFrom(t, "127.0.0.2", addr)
	if !rawmqtt.ClosedWithin(over, time.Second) {
		t.Fatal("a fourth connection from an address allowed three was kept open")
	}
	if n := s.refused(refusedAddrBusy); n != 1 {
		t.Errorf("refused too_many_from_address: %v, want 1", n)
	}
	if err := s.b.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range kept {
		if !rawmqtt.ClosedWithin(c, time.Second) {
			t.Errorf("connection %d still open after the broker closed", i)
		}
	}
}

// A waiter whose slot never comes is closed by the sweep at its deadline.
func TestSweepClosesWaitersPastTheirDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	g := newGuard(ln, Limits{MaxConnecting: 1, MaxConnectingPerAddress: 1, MaxConnectionsPerAddress: 10,
		ConnectTimeout: 200 * time.Millisecond, MaxWaiting: 4}.withDefaults(), refusedCounter(reg), droppedCounter(reg), slog.New(slog.DiscardHandler))
	defer g.close()         // not wait: no goroutine serves the holder here
	holder, _ := net.Pipe() // holds the one slot, never released
	if gc, reason := g.admit(holder); gc == nil {
		t.Fatalf("the first connection was not let in: %q", reason)
	}
	waiterConn, peer := net.Pipe()
	if gc, reason := g.admit(waiterConn); gc != nil || reason != waiting {
		t.Fatalf("the second: %v %q, want it waiting", gc, reason)
	}
	peer.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := peer.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the waiter was not closed by the sweep: %v", err)
	}
	if n := testutil.ToFloat64(g.refused.WithLabelValues(refusedTimeout)); n != 1 {
		t.Errorf("connect_timeout %v, want 1", n)
	}
}
