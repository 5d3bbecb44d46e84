package broker

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/tlsfiles"
	"carebed/internal/devcerts"
	"carebed/internal/testwait"
)

// siteOver is a site whose broker serves MQTT over transport, "tcp" or "tls".
func siteOver(t *testing.T, transport string) *site {
	t.Helper()
	if transport == "tcp" {
		return newSite(t, nil)
	}
	cfg, _ := serverTLS(t)
	s := newSite(t, func(o *Options) { o.TLS = cfg })
	s.tls = true
	return s
}

// serverTLS is a broker's TLS with a new test certificate, and its files.
func serverTLS(tb testing.TB) (*tls.Config, devcerts.Files) {
	tb.Helper()
	certs, err := devcerts.Generate(filepath.Join(tb.TempDir(), "certs"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := tlsfiles.Server(certs.Server, certs.ServerKey, "")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg, certs
}

// holdConn keeps what is written while held and sends it in one write at flush.
type holdConn struct {
	net.Conn
	mu   sync.Mutex
	held *bytes.Buffer // nil: not holding
}

func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held != nil {
		return h.held.Write(p)
	}
	return h.Conn.Write(p)
}

func (h *holdConn) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = &bytes.Buffer{}
}

func (h *holdConn) flush() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.held
	h.held = nil
	_, err := h.Conn.Write(b.Bytes())
	return err
}

// pings is n PINGREQs.
func pings(n int) []byte {
	return bytes.Repeat([]byte{packets.Pingreq << 4, 0}, n)
}

// expectPongs reads n PINGRESPs, each within 5 s.
func (c *rawClient) expectPongs(n int) {
	c.t.Helper()
	for i := range n {
		if _, ok := c.read(5 * time.Second).(*packets.PingrespPacket); !ok {
			c.t.Fatalf("PINGRESP %d of %d did not come", i+1, n)
		}
	}
}

// TestTLSInputHeldByCryptoTLSIsServed: a TLS connection's reader waits for input on
// the socket (awaitInput), so packets crypto/tls has already taken off the socket
// must be read first, or they would wait for the device's next packet: PINGREQs
// beyond the read buffer in the same record as those before them, and records that
// arrived in one segment.
func TestTLSInputHeldByCryptoTLSIsServed(t *testing.T) {
	s := siteOver(t, "tls")
	t.Run("same record", func(t *testing.T) {
		c, _ := rawConnectOver(t, s.link(t, nil), siteDevices[0], true, 60)
		n := readBufferSize/2 + 1 // the read buffer takes all but the last
		if _, err := c.nc.Write(pings(n)); err != nil {
			t.Fatal(err)
		}
		c.expectPongs(n)
	})
	t.Run("records in one segment", func(t *testing.T) {
		h := &holdConn{}
		c, _ := rawConnectOver(t, s.link(t, h), siteDevices[1], true, 60)
		h.hold()
		for range 3 { // a record each
			if _, err := c.nc.Write(pings(1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.flush(); err != nil {
			t.Fatal(err)
		}
		c.expectPongs(3)
	})
	t.Run("more than the socket's one read", func(t *testing.T) {
		h := &holdConn{}
		c, _ := rawConnectOver(t, s.link(t, h), siteDevices[0], true, 60)
		h.hold()
		for range 40 { // 40 records of 1,000 bytes, in one write
			if _, err := c.nc.Write(pings(500)); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.flush(); err != nil {
			t.Fatal(err)
		}
		c.expectPongs(40 * 500)
	})
}

// TestWaitKeepsTheKeepalive: awaitInput leaves the read deadline the keepalive's.
// With keepalive 0 there is none (no deadline left in the past: the link is served
// after idle spells, no Last Will); over TLS a record cut across segments is
// waited for, and one cut short ends at the keepalive with the Last Will.
func TestWaitKeepsTheKeepalive(t *testing.T) {
	for _, transport := range []string{"tcp", "tls"} {
		t.Run("keepalive 0/"+transport, func(t *testing.T) {
			s := siteOver(t, transport)
			c, _ := s.rawConnect(t, siteDevices[0], true, 0)
			for range 3 {
				if _, err := c.nc.Write(pings(1)); err != nil {
					t.Fatal(err)
				}
				c.expectPongs(1)
				time.Sleep(300 * time.Millisecond)
			}
			if got := s.ingest.topics(); len(got) != 0 {
				t.Fatalf("handed off %v from a link that is up", got)
			}
		})
	}
	t.Run("a record cut across segments, then one cut short", func(t *testing.T) {
		s := siteOver(t, "tls")
		h := &holdConn{}
		c, _ := rawConnectOver(t, s.link(t, h), siteDevices[0], true, 1)
		record := func() []byte { // a PINGREQ's record, not sent
			h.hold()
			if _, err := c.nc.Write(pings(1)); err != nil {
				t.Fatal(err)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			b := h.held.Bytes()
			h.held = nil
			return b
		}
		rec := record()
		h.Conn.Write(rec[:3])
		time.Sleep(500 * time.Millisecond)
		h.Conn.Write(rec[3:])
		c.expectPongs(1)
		start := time.Now()
		h.Conn.Write(record()[:10])
		testwait.Until(t, 5*time.Second, "the Last Will", func() (bool, string) {
			got := s.ingest.topics()
			return len(got) == 1, fmt.Sprint(got)
		})
		if d := time.Since(start); d < time.Second {
			t.Errorf("Last Will %v after half a record, before the keepalive", d)
		}
	})
}
