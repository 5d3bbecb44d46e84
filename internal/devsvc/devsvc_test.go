package devsvc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// queued is more than Mosquitto's default max_queued_messages (1000): with the default,
// the broker would drop the rest for an offline subscriber while still acking the
// publisher.
const queued = 1500

// TestMosquittoKeepsQueueAcrossRestart checks the project's broker config: an offline
// persistent session keeps more than 1000 QoS 1 messages, and they survive a graceful
// restart on the same port and folder. Then a SIGKILL and another restart.
func TestMosquittoKeepsQueueAcrossRestart(t *testing.T) {
	t.Parallel()
	m := StartMosquitto(t)
	if m.Addr != fmt.Sprintf("127.0.0.1:%d", m.Port) || m.URL != "tcp://"+m.Addr {
		t.Fatalf("Addr %q, URL %q, Port %d do not agree", m.Addr, m.URL, m.Port)
	}

	sub, present := mqttConnect(t, m.Addr, "devsvc-sub", false)
	if present {
		t.Fatal("new broker: session present for devsvc-sub")
	}
	sub.subscribe("carebed/v1/+/telemetry")
	sub.disconnect()

	pub, _ := mqttConnect(t, m.Addr, "devsvc-pub", true)
	for n := range queued {
		pub.publish1("carebed/v1/bed-001/telemetry", fmt.Sprintf(`{"v":1,"seq":%d}`, n))
	}
	pub.disconnect()

	pid := m.Pid()
	m.Restart(t)
	if m.Pid() == pid || !m.Running() {
		t.Fatalf("after Restart: pid %d (was %d), running %v", m.Pid(), pid, m.Running())
	}
	c, err := net.DialTimeout("tcp", m.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("TCP connect after restart: %v", err)
	}
	c.Close()

	sub, present = mqttConnect(t, m.Addr, "devsvc-sub", false)
	if !present {
		t.Fatal("after a graceful restart the persistent session of devsvc-sub is gone")
	}
	for n := range queued {
		sub.where = fmt.Sprintf("(waiting for queued message %d of %d)", n+1, queued)
		topic, payload := sub.receive()
		if want := fmt.Sprintf(`{"v":1,"seq":%d}`, n); topic != "carebed/v1/bed-001/telemetry" || payload != want {
			t.Fatalf("message %d: got %s %s, want %s", n, topic, payload, want)
		}
	}
	sub.disconnect()

	m.Kill(t)
	if m.Running() {
		t.Fatal("running after Kill")
	}
	m.Restart(t)
	c, err = net.DialTimeout("tcp", m.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("TCP connect after kill and restart: %v", err)
	}
	c.Close()
}

// TestInfluxWriteQueryRestart writes through the v2 write API, reads back with
// InfluxQL, and finds the data again after a restart.
func TestInfluxWriteQueryRestart(t *testing.T) {
	t.Parallel()
	i := StartInflux(t)
	if i.DB != "carebed" || i.Bucket != "carebed/autogen" || !strings.HasPrefix(i.URL, "http://127.0.0.1:") {
		t.Fatalf("DB %q, Bucket %q, URL %q", i.DB, i.Bucket, i.URL)
	}
	i.Write(t, "telemetry,device=bed-001 hr=72i,battery=88.5 1700000000000000000\n"+
		"telemetry,device=bed-002 hr=60i 1700000001000000000\n")

	check := func() {
		t.Helper()
		got := i.Query(t, `SELECT hr, battery FROM telemetry WHERE device = 'bed-001'`)
		want := [][]any{{json.Number("1700000000000"), json.Number("72"), json.Number("88.5")}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Query: got %#v, want %#v", got, want)
		}
		if n := i.Count(t, `SELECT COUNT(hr) FROM telemetry`); n != 2 {
			t.Fatalf("Count: got %d, want 2", n)
		}
		if n := i.Count(t, `SELECT COUNT(hr) FROM telemetry GROUP BY device`); n != 2 {
			t.Fatalf("Count GROUP BY device: got %d, want 2 (sum of the groups)", n)
		}
		if n := i.Count(t, `SELECT COUNT(hr) FROM telemetry WHERE device = 'nobody'`); n != 0 {
			t.Fatalf("Count of nothing: got %d, want 0", n)
		}
	}
	check()

	if _, err := i.query(`SELECT hr FROM`); err == nil {
		t.Fatal("a bad query returned no error")
	}

	pid := i.Pid()
	i.Stop(t)
	if i.Running() {
		t.Fatal("running after Stop")
	}
	i.Start(t)
	if i.Pid() == pid {
		t.Fatalf("same pid %d after Stop and Start", pid)
	}
	check()
}

// TestServersDieWithTheTestBinary runs a test binary that starts Mosquitto and exits
// without its cleanups (as a -timeout panic does); the broker must not outlive it.
func TestServersDieWithTheTestBinary(t *testing.T) {
	diesWithTheTestBinary(t, "TestServersDieWithTheTestBinary", mosquittoName, func(t *testing.T) (int, string) {
		m := StartMosquitto(t)
		return m.Pid(), m.Dir
	})
}

// diesWithTheTestBinary runs the test named test again in a helper binary that starts
// a service (start returns its pid and folder) and exits without its cleanups; the
// service must die with it.
func diesWithTheTestBinary(t *testing.T, test, service string, start func(*testing.T) (int, string)) {
	const helperEnv = "DEVSVC_ORPHAN_HELPER"
	if os.Getenv(helperEnv) == test {
		pid, dir := start(t)
		fmt.Printf("DEVSVC pid=%d dir=%s\n", pid, filepath.Dir(filepath.Dir(dir)))
		os.Exit(0)
	}
	Require(t, service)
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+test)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var pid int
	var dir string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "DEVSVC pid=%d dir=%s", &pid, &dir); err == nil {
			break
		}
	}
	if pid == 0 || !strings.HasPrefix(dir, os.TempDir()) {
		t.Fatalf("helper printed no pid and folder:\n%s", out)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // the helper exited before removing it
	err = poll(10*time.Second, func() error {
		if alive(pid) {
			return fmt.Errorf("pid %d is still alive", pid)
		}
		return nil
	}, func() error { return nil })
	if err != nil {
		t.Fatalf("%s outlived its test binary: %v", service, err)
	}
}

// alive reports whether pid exists and is not a zombie (an orphan is reaped by
// whatever reaps orphans here, maybe not at once).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// recordTB records Skipf and Fatalf instead of stopping the test.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recordTB) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestRequire(t *testing.T) {
	t.Setenv("CAREBED_MOSQUITTO", "/nonexistent/mosquitto")
	t.Setenv("CAREBED_POSTGRES_BIN", "/nonexistent/postgresql/bin")
	for _, tc := range []struct {
		name, ci, what    string
		wantSkip, wantErr bool
	}{
		{name: "missing binary, no CI: skip", what: "mosquitto", wantSkip: true},
		{name: "missing binary in CI: fail", ci: "true", what: "mosquitto", wantErr: true},
		{name: "missing postgres, no CI: skip", what: "postgres", wantSkip: true},
		{name: "missing postgres in CI: fail", ci: "true", what: "postgres", wantErr: true},
		{name: "unknown service: skip outside CI", what: "nosuch", wantSkip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recordTB{TB: t}
			Require(r, tc.what)
			if (r.skipped != "") != tc.wantSkip || (r.failed != "") != tc.wantErr {
				t.Fatalf("skipped %q, failed %q", r.skipped, r.failed)
			}
			if msg := r.skipped + r.failed; tc.what == "mosquitto" && !strings.Contains(msg, "/nonexistent/mosquitto") ||
				tc.what == "postgres" && !strings.Contains(msg, "/nonexistent/postgresql/bin") {
				t.Fatalf("message does not name the missing binary: %q", msg)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot()
	for _, f := range []string{"go.mod", "deploy/dev/run-mosquitto", "deploy/dev/run-influxd", "deploy/dev/run-postgres", "deploy/dev/run-haproxy"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("RepoRoot %s: %v", root, err)
		}
	}
}

// TestStartReportsPortInUse checks that a start on a port another process holds is
// recognised as such, which is what makes StartMosquitto and StartInflux retry.
func TestStartReportsPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // after the parallel subtests
	taken := l.Addr().(*net.TCPAddr).Port

	t.Run("mosquitto", func(t *testing.T) {
		t.Parallel()
		Require(t, mosquittoName)
		m := newMosquitto(filepath.Join(t.TempDir(), "mosquitto"))
		m.setPorts([]int{taken})
		t.Cleanup(func() {
			if m.proc != nil {
				m.proc.kill()
			}
		})
		if err := m.start(); !errors.Is(err, errAddrInUse) {
			t.Fatalf("start on a taken port: got %v, want %v", err, errAddrInUse)
		}
	})
	for _, tc := range []struct{ name, taken string }{{"influxd http", "http"}, {"influxd rpc", "rpc"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			Require(t, influxdName)
			ports, err := freePorts(1)
			if err != nil {
				t.Fatal(err)
			}
			i := newInflux(filepath.Join(t.TempDir(), "influxd"))
			t.Cleanup(func() {
				if i.proc != nil {
					i.proc.kill()
				}
			})
			if tc.taken == "http" {
				i.setPorts([]int{taken, ports[0]})
			} else {
				i.setPorts([]int{ports[0], taken})
			}
			if err := i.start(); !errors.Is(err, errAddrInUse) {
				t.Fatalf("start with the %s port taken: got %v, want %v", tc.taken, err, errAddrInUse)
			}
		})
	}
}
