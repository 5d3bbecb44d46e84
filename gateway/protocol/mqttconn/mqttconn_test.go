package mqttconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestWritesArriveInOrder(t *testing.T) {
	a, b := net.Pipe()
	c := New(a)
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(&got, b) })
	var want bytes.Buffer
	for i := range 5000 {
		p := []byte{byte(i), byte(i >> 8), 0x40, 0x02}
		want.Write(p)
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("got %d bytes, want %d, or different order", got.Len(), want.Len())
	}
}

func TestFailedWriteClosesTheConnection(t *testing.T) {
	a, b := net.Pipe()
	c := New(a)
	b.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("Write: %v (a queued write does not fail)", err)
	}
	// The flusher's write fails and closes the socket, so the reader learns of it.
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Read succeeded on a dead connection")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5 s after the write failed")
	}
	if _, err := c.Write([]byte("y")); err != nil {
		t.Errorf("Write after the failure: %v, want the bytes dropped quietly", err)
	}
	c.Close()
}

func TestReadIsBuffered(t *testing.T) {
	a, b := net.Pipe()
	c := New(a)
	go func() { b.Write([]byte("hello world")); b.Close() }()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("read %q, %v", got, err)
	}
	c.Close()
}

// brokenConn is a socket whose writes fail (the network is gone) and whose reads block
// until it is closed, then fail as a closed socket's do.
type brokenConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (b *brokenConn) Write([]byte) (int, error) { return 0, syscall.EPIPE }
func (b *brokenConn) Read([]byte) (int, error) {
	<-b.closed
	return 0, net.ErrClosed
}
func (b *brokenConn) Close() error { b.once.Do(func() { close(b.closed) }); return nil }

// TestLostConnectionReadsAsEndOfStream: after a failed write the reader must see
// io.EOF, which paho reports as a lost connection and reconnects after; "use of
// closed network connection" it would take for its own Close and sit until the
// keepalive gives up. After paho's own Close that error stays.
func TestLostConnectionReadsAsEndOfStream(t *testing.T) {
	c := New(&brokenConn{closed: make(chan struct{})})
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	if _, err := c.Write([]byte{0x30}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != io.EOF {
			t.Fatalf("Read after a failed write: %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5 s after the write failed")
	}
	c.Close()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed (paho's own close)", err)
	}
}

// countingConn counts the reads and writes that reach the socket.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// tcpPair is a loopback TCP connection: unlike net.Pipe, the kernel buffers what one
// side writes, as it does between paho and a broker.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- s
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestLingerJoinsWrites: packets queued a few milliseconds apart go out in one write
// per linger, not one each, and in order.
func TestLingerJoinsWrites(t *testing.T) {
	raw, peer := tcpPair(t)
	cc := &countingConn{Conn: raw}
	c := NewWith(cc, Options{Linger: time.Hour})
	var want bytes.Buffer
	for i := range 20 {
		p := []byte{0x40, 0x02, 0, byte(i)} // a PUBACK
		want.Write(p)
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	// The first went out at once; the rest wait for the linger, which Close ends.
	got := make([]byte, 4)
	if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, want.Bytes()[:4]) {
		t.Fatalf("first packet %x, %v: a write long after the previous must not wait", got, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(peer)
	if err != nil || !bytes.Equal(rest, want.Bytes()[4:]) {
		t.Fatalf("after Close: %x, %v; want the other 19 packets in order", rest, err)
	}
	if n := cc.writes.Load(); n > 2 {
		t.Errorf("%d writes for 20 packets, want at most 2 (the first, then the rest together)", n)
	}
}

// TestLingerJoinsReads: packets arriving a few milliseconds apart are read with one
// read per linger, and the first of them at once.
func TestLingerJoinsReads(t *testing.T) {
	raw, peer := tcpPair(t)
	cc := &countingConn{Conn: raw}
	c := NewWith(cc, Options{Linger: 300 * time.Millisecond})
	defer c.Close()
	var want bytes.Buffer
	for i := range 21 {
		want.Write([]byte{0x40, 0x02, 0, byte(i)})
	}
	if _, err := peer.Write(want.Bytes()[:4]); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got[:4]); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 1; i < 21; i++ {
			peer.Write(want.Bytes()[4*i : 4*i+4])
			time.Sleep(2 * time.Millisecond)
		}
	}()
	if _, err := io.ReadFull(c, got[4:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read %x, want %x", got, want.Bytes())
	}
	// One read for the first packet, then one per linger: the 20 packets take about
	// 40 ms to arrive (more on a busy machine), so two or three reads, never 20.
	if n := cc.reads.Load(); n > 4 {
		t.Errorf("%d reads for 21 packets, want at most 4", n)
	}
}

// TestLingerCloseEndsTheWait: Close writes what waits for the linger at once.
func TestLingerCloseEndsTheWait(t *testing.T) {
	raw, peer := tcpPair(t)
	c := NewWith(raw, Options{Linger: time.Hour})
	for i := range 2 {
		c.Write([]byte{0x40, 0x02, 0, byte(i)})
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waiting 10 s later: the linger held it")
	}
	got, err := io.ReadAll(peer)
	if err != nil || len(got) != 8 {
		t.Fatalf("peer got %x, %v; want both packets", got, err)
	}
}
