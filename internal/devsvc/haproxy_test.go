package devsvc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/internal/devcerts"
)

// The shipped HAProxy config (deploy/haproxy), as run-haproxy runs it, ends the
// devices' TLS and passes their MQTT to Mosquitto: a publish over TLS to HAProxy
// reaches a subscriber on Mosquitto's own listener; a client offering TLS 1.1 is
// refused; a client speaking plain MQTT to HAProxy's port is closed without a
// CONNACK, and the failed handshake is in HAProxy's log.
func TestHAProxyEndsTLSInFrontOfMosquitto(t *testing.T) {
	t.Parallel()
	m := StartMosquitto(t)
	certs, err := devcerts.Generate(filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatal(err)
	}
	h := StartHAProxy(t, m.Addr, certs.Server, certs.ServerKey)
	if h.URL != "ssl://"+h.Addr || h.Pid() == 0 {
		t.Fatalf("URL %q, Addr %q, pid %d", h.URL, h.Addr, h.Pid())
	}

	sub, _ := mqttConnect(t, m.Addr, "devsvc-sub", true)
	sub.subscribe("carebed/v1/+/telemetry")
	c, err := dialTLS(h.Addr, certs.CA, tls.VersionTLS12)
	if err != nil {
		t.Fatalf("TLS 1.2 to HAProxy: %v", err)
	}
	pub, _ := mqttConnectOver(t, c, "devsvc-pub", true)
	pub.publish1("carebed/v1/bed-001/telemetry", `{"v":1,"seq":7}`)
	if topic, payload := sub.receive(); topic != "carebed/v1/bed-001/telemetry" || payload != `{"v":1,"seq":7}` {
		t.Fatalf("through HAProxy: got %s %s", topic, payload)
	}

	// HAProxy's alert, not a refusal of Go's own (OpenSSL 3's own floor refuses TLS 1.1
	// as well; the shipped ssl-min-ver keeps it so on any build).
	if c, err := dialTLS(h.Addr, certs.CA, tls.VersionTLS11); err == nil || !strings.Contains(err.Error(), "remote error: tls: protocol version not supported") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("TLS 1.1 to HAProxy: %v, want HAProxy's protocol-version alert", err)
	}

	plain, err := net.DialTimeout("tcp", h.Addr, mqttTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	connect := []byte{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 'p', 'l', 'a', 'i'}
	if _, err := plain.Write(connect); err != nil {
		t.Fatal(err)
	}
	plain.SetReadDeadline(time.Now().Add(mqttTimeout))
	b := make([]byte, 1)
	if n, _ := plain.Read(b); n == 1 && b[0] == 0x20 {
		t.Fatal("plain MQTT to HAProxy's TLS port got a CONNACK")
	}
	err = poll(10*time.Second, func() error {
		if !strings.Contains(readFrom(h.LogFile, 0), "mqtt_tls/1: SSL handshake failure") {
			return errors.New("no failed handshake in HAProxy's log")
		}
		return nil
	}, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
}

// dialTLS makes a TLS link to addr, trusting the CA in the file ca, offering TLS
// version at most (and TLS 1.0 at least).
func dialTLS(addr, ca string, version uint16) (net.Conn, error) {
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", ca)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: mqttTimeout}, "tcp", addr,
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS10, MaxVersion: version})
	if err != nil {
		return nil, err // not a nil *tls.Conn in a non-nil net.Conn
	}
	return c, nil
}

// HAProxy, one process with its threads, must not outlive a test binary that exits
// without its cleanups.
func TestHAProxyDiesWithTheTestBinary(t *testing.T) {
	diesWithTheTestBinary(t, "TestHAProxyDiesWithTheTestBinary", haproxyName, func(t *testing.T) (int, string) {
		certs, err := devcerts.Generate(filepath.Join(t.TempDir(), "certs"))
		if err != nil {
			t.Fatal(err)
		}
		h := StartHAProxy(t, "127.0.0.1:1", certs.Server, certs.ServerKey)
		return h.Pid(), h.Dir
	})
}
