package devsvc

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

const (
	haproxyName  = "haproxy"
	haproxyReady = 20 * time.Second // deadline for a start
	haproxyGrace = 10 * time.Second // SIGTERM to SIGKILL
)

// HAProxy is a running real HAProxy (Debian's package) started by deploy/dev/run-haproxy
// with the shipped deploy/haproxy/carebed-mqtt-tls.cfg: it ends the devices' TLS on Addr
// and passes plain MQTT to a Mosquitto.
type HAProxy struct {
	// Addr is host:port of the TLS listener, "127.0.0.1:<port>".
	Addr string
	// URL is the address for MQTT clients, "ssl://127.0.0.1:<port>".
	URL string
	// Dir holds the certificate file, the config HAProxy ran and its log.
	Dir string
	// LogFile is Dir/haproxy.log.
	LogFile string

	upstream string // Mosquitto's host:port
	pem      string
	proc     *proc
}

// StartHAProxy starts HAProxy on a free loopback port in a new folder under
// t.TempDir(), ending TLS with the certificate and key in the files certFile and
// keyFile (PEM) and passing plain MQTT to upstream (host:port); it waits until the
// listener accepts a TCP connection (deadline 20 s) and stops HAProxy when the test
// ends. It skips or fails the test as Require does when HAProxy is not installed, and
// fails the test when it does not start.
func StartHAProxy(t testing.TB, upstream, certFile, keyFile string) *HAProxy {
	t.Helper()
	Require(t, haproxyName)
	h := &HAProxy{Dir: filepath.Join(t.TempDir(), "haproxy"), upstream: upstream}
	h.LogFile = filepath.Join(h.Dir, "haproxy.log")
	h.pem = filepath.Join(h.Dir, "server.pem")
	if err := writePEM(h.pem, certFile, keyFile); err != nil {
		t.Fatalf("devsvc: haproxy: %v", err)
	}
	cleanup(t, haproxyGrace, func() *proc { return h.proc })
	startService(t, haproxyName, h)
	return h
}

// writePEM writes HAProxy's one certificate file: the certificate, then its key.
func writePEM(path, certFile, keyFile string) error {
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(append(cert, '\n'), key...), 0o600)
}

func (h *HAProxy) ports() int { return 1 }

func (h *HAProxy) where() string { return h.Addr }

func (h *HAProxy) setPorts(ports []int) {
	h.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	h.URL = "ssl://" + h.Addr
}

// start runs the script and waits until the listener accepts a connection.
func (h *HAProxy) start() error {
	_, port, _ := net.SplitHostPort(h.Addr)
	p, err := startProc(haproxyName, filepath.Dir(h.Dir), h.LogFile, port, h.upstream, h.pem, h.Dir)
	if err != nil {
		return err
	}
	h.proc = p
	ready := func() error {
		c, err := net.DialTimeout("tcp", h.Addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
	if err := poll(haproxyReady, ready, p.exited); err != nil {
		p.kill()
		return err
	}
	return nil
}

// Pid returns HAProxy's process id (0 before the start).
func (h *HAProxy) Pid() int { return h.proc.pid() }
