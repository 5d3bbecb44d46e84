// Package devsvc starts the real services (Mosquitto 2, InfluxDB 1.8, Prometheus 2,
// PostgreSQL)
// for integration tests: each on free loopback ports, in the test's own temporary
// folder, through the deploy/dev/run-* scripts, so tests run exactly the
// configuration developers run.
//
// A service started here is stopped by t.Cleanup (SIGTERM, then SIGKILL after a
// deadline, by its pid only); when the test failed, the tail of its log is printed.
// On Linux a service also gets SIGKILL if the test binary dies without cleaning up (a
// `go test -timeout` panic), so no broker or database outlives its test.
//
// When a binary is missing the test is skipped with instructions, except in CI
// (environment variable CI set), where a missing service is a failure: see Require.
// Binaries: $CAREBED_MOSQUITTO, else mosquitto on PATH, else /usr/sbin/mosquitto;
// $CAREBED_INFLUXD, else $REPO/.bin/influxd (built by deploy/dev/install);
// $CAREBED_PROMETHEUS, else prometheus on PATH, else /usr/bin/prometheus;
// $CAREBED_POSTGRES_BIN, else the newest /usr/lib/postgresql/*/bin (Debian). The run
// scripts read the rest of their environment as usual, e.g. CAREBED_INFLUX_FLUX=false
// starts InfluxDB without Flux, which saves about 3.5 s of CPU per start.
//
// Methods of one service are not safe for concurrent use; call them from the test's
// goroutine.
package devsvc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startAttempts is how many times StartMosquitto and StartInflux try new ports when
// the ones they picked were taken before the service could bind them.
const startAttempts = 3

// What Require accepts.
const (
	mosquittoName = "mosquitto"
	influxdName   = "influxd"
)

// RepoRoot returns the folder of the carebed module: the first folder holding a go.mod,
// walking up from the working directory (go test runs in the package's folder), else
// from this source file. It panics when there is none, which means the code runs
// outside the repository.
func RepoRoot() string {
	if wd, err := os.Getwd(); err == nil {
		if root, ok := findGoMod(wd); ok {
			return root
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		if root, ok := findGoMod(filepath.Dir(file)); ok {
			return root
		}
	}
	panic("devsvc: no go.mod above the working directory or this source file")
}

func findGoMod(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Require checks that the binary for what ("mosquitto", "influxd", "prometheus",
// "postgres" or "haproxy") and its run script are present. When one is missing it
// fails the test if the environment variable CI is non-empty (a missing service in CI
// is a failure, never a skip), and skips it otherwise, saying how to install. The
// Start functions call it.
func Require(t testing.TB, what string) {
	t.Helper()
	if err := missing(what); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("devsvc: %v (CI is set: a missing service is a failure)", err)
		} else {
			t.Skipf("devsvc: %v; install with deploy/dev/install (make test does it)", err)
		}
	}
}

// missing says what is missing to run what, or nil.
func missing(what string) error {
	var bin string
	var err error
	switch what {
	case mosquittoName:
		bin, err = systemBinary(mosquittoName, "CAREBED_MOSQUITTO", "/usr/sbin/mosquitto")
	case influxdName:
		bin, err = influxdBinary()
	case prometheusName:
		bin, err = systemBinary(prometheusName, "CAREBED_PROMETHEUS", "/usr/bin/prometheus")
	case postgresName:
		bin, err = postgresBinary()
	case haproxyName:
		bin, err = systemBinary(haproxyName, "CAREBED_HAPROXY", "/usr/sbin/haproxy")
	default:
		return fmt.Errorf("unknown service %q (want %q, %q, %q, %q or %q)", what, mosquittoName, influxdName, prometheusName, postgresName, haproxyName)
	}
	if err != nil {
		return err
	}
	if err := executable(bin); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := executable(script(what)); err != nil {
		return fmt.Errorf("run script: %w", err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return errors.New("bash is not on PATH")
	}
	return nil
}

// systemBinary finds a service installed from Debian, as its run script does: the
// binary in the environment variable env, else name on PATH, else fallback.
func systemBinary(name, env, fallback string) (string, error) {
	if bin := os.Getenv(env); bin != "" {
		return bin, nil
	}
	if bin, err := exec.LookPath(name); err == nil {
		return bin, nil
	}
	if executable(fallback) == nil {
		return fallback, nil
	}
	return "", fmt.Errorf("%s is not installed (not on PATH, not %s, %s unset)", name, fallback, env)
}

// influxdBinary mirrors the lookup in deploy/dev/run-influxd.
func influxdBinary() (string, error) {
	if bin := os.Getenv("CAREBED_INFLUXD"); bin != "" {
		return bin, nil
	}
	return filepath.Join(RepoRoot(), ".bin", influxdName), nil
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// script is the path of deploy/dev/run-<what>.
func script(what string) string {
	return filepath.Join(RepoRoot(), "deploy", "dev", "run-"+what)
}

// freePorts returns n distinct loopback ports that were free a moment ago: random
// ports below the kernel's ephemeral range when there is room (so that no outgoing
// connection of any test takes a service's port while the service restarts), else
// ports the kernel picks. Another test may still take one before the service binds
// it; the start functions then retry with new ports.
func freePorts(n int) ([]int, error) {
	low := ephemeralLow()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		port := 0
		if low > minPort+1000 && tries < 100 {
			port = minPort + rand.IntN(low-minPort)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			if port != 0 {
				continue // taken: try another
			}
			return nil, fmt.Errorf("devsvc: finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// minPort is the lowest port freePorts picks.
const minPort = 10000

// ephemeralLow returns the first port of the kernel's range for outgoing connections
// (Linux: 32768 by default), or 0 when unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0
	}
	return low
}

// poll calls ready until it returns nil, the deadline passes, or stop returns an
// error (the service exited). The interval grows from 5 ms to 100 ms.
func poll(deadline time.Duration, ready func() error, stop func() error) error {
	end := time.Now().Add(deadline)
	wait := 5 * time.Millisecond
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if serr := stop(); serr != nil {
			return serr
		}
		if time.Now().After(end) {
			return fmt.Errorf("not ready after %v: %w", deadline, err)
		}
		time.Sleep(wait)
		wait = min(wait*3/2, 100*time.Millisecond)
	}
}

// tail returns the last n lines of the file at path, or a note why there are none.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines in %s)", len(lines)-n, path)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// service is what startService starts: a run script on ports it is given.
type service interface {
	ports() int           // how many free ports it needs
	setPorts(ports []int) // uses them (and derives its URLs)
	start() error         // errAddrInUse when another process took a port meanwhile
	Pid() int
	where() string // its address, for messages
}

// startService starts s on free loopback ports, trying new ones (up to
// startAttempts) when another process took one between the choice and the bind. It
// fails t when s does not start.
func startService(t testing.TB, name string, s service) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(s.ports())
		if err != nil {
			t.Fatal(err)
		}
		s.setPorts(ports)
		began := time.Now()
		err = s.start()
		if err == nil {
			t.Logf("devsvc: %s (pid %d) ready on %s in %v", name, s.Pid(), s.where(), time.Since(began).Round(time.Millisecond))
			return
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			t.Fatalf("devsvc: starting %s on %s: %v", name, s.where(), err)
		}
		t.Logf("devsvc: a port of %s (%v) was taken meanwhile; trying others", name, ports)
	}
}
