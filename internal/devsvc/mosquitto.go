package devsvc

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	mosquittoReady = 20 * time.Second // deadline for a start
	mosquittoGrace = 10 * time.Second // SIGTERM to SIGKILL
)

// Mosquitto is a running real Mosquitto 2 started by deploy/dev/run-mosquitto:
// anonymous access, persistence in Dir, and the project's queue limits (see the
// comments in the generated Dir/mosquitto.conf).
type Mosquitto struct {
	// Addr is host:port of the listener, "127.0.0.1:<port>".
	Addr string
	// URL is the broker's address for MQTT clients, "tcp://127.0.0.1:<port>".
	URL string
	// Port is the listener's port.
	Port int
	// Dir holds mosquitto.conf, the persistence database mosquitto.db and the log.
	Dir string
	// LogFile is Dir/mosquitto.log.
	LogFile string

	proc *proc // the latest run
	opts MosquittoOptions
}

// MosquittoOptions secure a broker started by StartMosquittoWith.
type MosquittoOptions struct {
	// PasswordFile and ACLFile (both or neither), as `gateway broker export` writes
	// them, replace anonymous access.
	PasswordFile, ACLFile string
	// CertFile and KeyFile make the listener speak TLS; CAFile is the CA client
	// certificates must chain to, required when RequireCertificate is set.
	CertFile, KeyFile, CAFile string
	RequireCertificate        bool
	// MaxQueued (max_queued_messages, default 1,000,000) and SysInterval
	// (sys_interval, whole seconds, default 10 s) for tests of a full queue.
	MaxQueued   int
	SysInterval time.Duration
}

func (o MosquittoOptions) env() []string {
	env := []string{"CAREBED_MOSQUITTO_PASSWORD_FILE=" + o.PasswordFile, "CAREBED_MOSQUITTO_ACL_FILE=" + o.ACLFile,
		"CAREBED_MOSQUITTO_CERTFILE=" + o.CertFile, "CAREBED_MOSQUITTO_KEYFILE=" + o.KeyFile,
		"CAREBED_MOSQUITTO_CAFILE=" + o.CAFile, "CAREBED_MOSQUITTO_REQUIRE_CERT=" + strconv.FormatBool(o.RequireCertificate)}
	if o.MaxQueued > 0 {
		env = append(env, "CAREBED_MOSQUITTO_MAX_QUEUED="+strconv.Itoa(o.MaxQueued))
	}
	if o.SysInterval > 0 {
		env = append(env, "CAREBED_MOSQUITTO_SYS_INTERVAL="+strconv.Itoa(int(o.SysInterval/time.Second)))
	}
	return env
}

// StartMosquitto starts a broker on a free loopback port in a new folder under
// t.TempDir(), waits until it runs and accepts a TCP connection (deadline 20 s), and
// stops it when the test ends. It skips or fails the test as Require does when
// Mosquitto is not installed, and fails the test when the broker does not start.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	return StartMosquittoWith(t, MosquittoOptions{})
}

// StartMosquittoWith is StartMosquitto with users, ACL and TLS. With TLS the URL's
// scheme is "ssl" and readiness is checked by a TCP connection only.
func StartMosquittoWith(t testing.TB, o MosquittoOptions) *Mosquitto {
	t.Helper()
	Require(t, mosquittoName)
	m := newMosquitto(filepath.Join(t.TempDir(), "mosquitto"))
	m.opts = o
	cleanup(t, mosquittoGrace, func() *proc { return m.proc })
	startService(t, mosquittoName, m)
	return m
}

func newMosquitto(dir string) *Mosquitto {
	return &Mosquitto{Dir: dir, LogFile: filepath.Join(dir, "mosquitto.log")}
}

func (m *Mosquitto) ports() int { return 1 }

func (m *Mosquitto) where() string { return m.Addr }

func (m *Mosquitto) setPorts(ports []int) {
	port := ports[0]
	m.Port = port
	m.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	m.URL = "tcp://" + m.Addr
	if m.opts.CertFile != "" {
		m.URL = "ssl://" + m.Addr
	}
}

// start runs the script and waits until the broker says it runs (so the listener is
// ours, not another process that took the port) and accepts a connection.
func (m *Mosquitto) start() error {
	p, err := startProcEnv(mosquittoName, filepath.Dir(m.Dir), m.LogFile, m.opts.env(), strconv.Itoa(m.Port), m.Dir)
	if err != nil {
		return err
	}
	m.proc = p
	ready := func() error {
		if !strings.Contains(readFrom(p.log, p.logStart), " running") {
			return errors.New("no \"running\" line in its log yet")
		}
		c, err := net.DialTimeout("tcp", m.Addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
	if err := poll(mosquittoReady, ready, p.exited); err != nil {
		p.kill()
		return err
	}
	return nil
}

// Pid returns the broker's process id (0 before the first start).
func (m *Mosquitto) Pid() int {
	return m.proc.pid()
}

// Running reports whether the broker process is alive.
func (m *Mosquitto) Running() bool { return m.proc.running() }

// Reload asks the broker to reread its configuration, password and ACL files
// (SIGHUP, what `systemctl reload mosquitto` sends).
func (m *Mosquitto) Reload() error { return m.proc.cmd.Process.Signal(syscall.SIGHUP) }

// Stop stops the broker gracefully: SIGTERM, then it waits for the exit, so the broker
// has saved its persistence database (sessions, subscriptions, queued messages). It
// fails the test if the broker needs SIGKILL after 10 s. Stopping a stopped broker
// does nothing.
func (m *Mosquitto) Stop(t testing.TB) {
	t.Helper()
	if err := m.proc.stop(mosquittoGrace); err != nil {
		t.Fatal(err)
	}
}

// Kill stops the broker with SIGKILL, as a crash or power loss would: whatever it
// changed since its last autosave (at most about a second ago) is lost.
func (m *Mosquitto) Kill(t testing.TB) {
	t.Helper()
	m.proc.kill()
}

// Restart stops the broker gracefully if it runs, then starts it again on the same
// port with the same folder, so persistent sessions and their queued messages come
// back as they were saved. It fails the test if the broker does not start.
func (m *Mosquitto) Restart(t testing.TB) {
	t.Helper()
	m.Stop(t)
	if err := m.start(); err != nil {
		t.Fatalf("devsvc: restarting mosquitto on %s: %v", m.Addr, err)
	}
}
