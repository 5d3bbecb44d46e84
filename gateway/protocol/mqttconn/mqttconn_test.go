package mqttconn

import (
	"bytes"
	"io"
	"net"
	"sync"
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
