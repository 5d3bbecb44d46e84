package devsvc

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"carebed/internal/devcerts"
)

// The shipped HAProxy config (deploy/haproxy), as run-haproxy runs it, ends the
// devices' TLS and passes their MQTT to Mosquitto: a publish over TLS to HAProxy
// reaches a subscriber on Mosquitto's own listener, and a client speaking plain MQTT
// to HAProxy's port is closed without a CONNACK.
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
	pub, _ := mqttConnectOver(t, dialTLS(t, h.Addr, certs.CA), "devsvc-pub", true)
	pub.publish1("carebed/v1/bed-001/telemetry", `{"v":1,"seq":7}`)
	if topic, payload := sub.receive(); topic != "carebed/v1/bed-001/telemetry" || payload != `{"v":1,"seq":7}` {
		t.Fatalf("through HAProxy: got %s %s", topic, payload)
	}

	plain, err := net.DialTimeout("tcp", h.Addr, mqttTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	connect := []byte{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 'p', 'l', 'a', 'i'}
	connect[1] = byte(len(connect) - 2)
	if _, err := plain.Write(connect); err != nil {
		t.Fatal(err)
	}
	plain.SetReadDeadline(time.Now().Add(mqttTimeout))
	b := make([]byte, 1)
	if n, _ := plain.Read(b); n == 1 && b[0] == 0x20 {
		t.Fatal("plain MQTT to HAProxy's TLS port got a CONNACK")
	}
}

// dialTLS makes a TLS link to addr, trusting the CA in the file ca.
func dialTLS(t *testing.T, addr, ca string) net.Conn {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", ca)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: mqttTimeout}, "tcp", addr,
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS to HAProxy: %v", err)
	}
	return c
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
