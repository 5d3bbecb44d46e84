package mqttconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
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
