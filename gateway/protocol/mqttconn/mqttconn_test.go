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

func TestWriteErrorIsReported(t *testing.T) {
	a, b := net.Pipe()
	c := New(a)
	b.Close()
	var err error
	for end := time.Now().Add(5 * time.Second); err == nil && time.Now().Before(end); {
		_, err = c.Write([]byte("x"))
		time.Sleep(time.Millisecond) // let the flusher meet the closed peer
	}
	if err == nil {
		t.Fatal("writes to a closed peer kept succeeding")
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
