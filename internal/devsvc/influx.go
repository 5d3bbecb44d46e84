package devsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/gateway/influxread"
)

const (
	influxReady = 60 * time.Second // deadline for a start
	influxGrace = 30 * time.Second // SIGTERM to SIGKILL
	// DB is the database StartInflux creates; its default retention policy is
	// "autogen", so the v2 write API's bucket is "carebed/autogen".
	DB = "carebed"
)

// Influx is a running real InfluxDB 1.8 started by deploy/dev/run-influxd, without
// authentication: the v2 write API takes an empty token and bucket "carebed/autogen".
type Influx struct {
	// URL is the HTTP API, "http://127.0.0.1:<port>".
	URL string
	// Dir holds influxd.conf, the meta, data and wal folders and the log.
	Dir string
	// DB is the database created at start, "carebed".
	DB string
	// Bucket is DB's default retention policy as a v2 bucket, "carebed/autogen".
	Bucket string
	// LogFile is Dir/influxd.log.
	LogFile string

	port, rpcPort int
	proc          *proc
	client        *http.Client
}

// StartInflux starts InfluxDB on free loopback ports (HTTP and the RPC service) in a
// new folder under t.TempDir(), waits until /health passes (deadline 60 s), creates
// database "carebed", and stops it when the test ends. It skips or fails the test as
// Require does when influxd is not installed, and fails the test when it does not
// start.
func StartInflux(t testing.TB) *Influx {
	t.Helper()
	Require(t, influxdName)
	i := newInflux(filepath.Join(t.TempDir(), "influxd"))
	cleanup(t, influxGrace, func() *proc { return i.proc })
	startService(t, influxdName, i)
	return i
}

func newInflux(dir string) *Influx {
	return &Influx{Dir: dir, DB: DB, Bucket: DB + "/autogen", LogFile: filepath.Join(dir, "influxd.log"),
		client: &http.Client{Timeout: 30 * time.Second}}
}

func (i *Influx) ports() int { return 2 } // HTTP and the RPC service

func (i *Influx) where() string { return i.URL }

func (i *Influx) setPorts(ports []int) {
	httpPort, rpcPort := ports[0], ports[1]
	i.port, i.rpcPort = httpPort, rpcPort
	i.URL = "http://127.0.0.1:" + strconv.Itoa(httpPort)
}

// start runs the script, waits until the log says the HTTP service listens on our
// port (so /health is answered by this process, not one that took the port) and
// /health passes, then creates the database (CREATE DATABASE is idempotent).
func (i *Influx) start() error {
	p, err := startProc(influxdName, filepath.Dir(i.Dir), i.LogFile,
		strconv.Itoa(i.port), i.Dir, strconv.Itoa(i.rpcPort))
	if err != nil {
		return err
	}
	i.proc = p
	const listening = `msg="Listening on HTTP" `
	addr := fmt.Sprintf("addr=127.0.0.1:%d ", i.port)
	ready := func() error {
		log := readFrom(p.log, p.logStart)
		if !strings.Contains(log, listening) || !strings.Contains(log, addr) {
			return errors.New("no \"Listening on HTTP\" line in its log yet")
		}
		return i.health()
	}
	if err := poll(influxReady, ready, p.exited); err != nil {
		p.kill()
		return err
	}
	if _, err := i.query("CREATE DATABASE " + i.DB); err != nil {
		p.kill()
		return err
	}
	return nil
}

func (i *Influx) health() error {
	resp, err := i.client.Get(i.URL + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var h struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return fmt.Errorf("/health: %s: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || h.Status != "pass" {
		return fmt.Errorf("/health: %s, status %q", resp.Status, h.Status)
	}
	return nil
}

// Pid returns influxd's process id (0 before the first start).
func (i *Influx) Pid() int {
	return i.proc.pid()
}

// Running reports whether the influxd process is alive.
func (i *Influx) Running() bool { return i.proc.running() }

// Stop stops influxd gracefully (SIGTERM, then it waits for the exit). It fails the
// test if influxd needs SIGKILL after 30 s. Stopping a stopped influxd does nothing.
func (i *Influx) Stop(t testing.TB) {
	t.Helper()
	if err := i.proc.stop(influxGrace); err != nil {
		t.Fatal(err)
	}
}

// Start starts a stopped influxd again on the same ports with the same folder (the
// data written before is still there) and waits until it is ready. It fails the test
// if influxd is running or does not start.
func (i *Influx) Start(t testing.TB) {
	t.Helper()
	if i.Running() {
		t.Fatalf("devsvc: influxd (pid %d) is already running", i.Pid())
	}
	if err := i.start(); err != nil {
		t.Fatalf("devsvc: starting influxd again on %s: %v", i.URL, err)
	}
}

// Write writes points in line protocol (nanosecond timestamps, or none for "now")
// through the v2 write API into Bucket, as the gateway does. It fails the test unless
// InfluxDB answers 204.
func (i *Influx) Write(t testing.TB, lines string) {
	t.Helper()
	u := i.URL + "/api/v2/write?precision=ns&bucket=" + url.QueryEscape(i.Bucket)
	resp, err := i.client.Post(u, "text/plain; charset=utf-8", strings.NewReader(lines))
	if err != nil {
		t.Fatalf("devsvc: influx write: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("devsvc: influx write: %s: %s", resp.Status, body)
	}
}

// Query runs InfluxQL statements q on database DB and returns the rows of every series
// of every statement, concatenated in order (with GROUP BY, one series per group; the
// tag values of a group are not in its rows, so select them as fields if needed).
// Each row holds the values in the order of the series' columns, "time" first, in
// Unix milliseconds: numbers as json.Number (exact for int64; use its Int64 or
// Float64 method), strings, booleans, and nil for a missing value. It fails the test
// on any error, including an error of one statement.
func (i *Influx) Query(t testing.TB, q string) [][]any {
	t.Helper()
	rows, err := i.query(q)
	if err != nil {
		t.Fatalf("devsvc: influx query %q: %v", q, err)
	}
	return rows
}

// Count runs q, a query such as `SELECT COUNT(hr) FROM telemetry WHERE ...`, and
// returns the sum of the first value after time over all rows (so a GROUP BY query
// gives the total): 0 when there are no rows. It fails the test when that value is
// not an integer.
func (i *Influx) Count(t testing.TB, q string) int64 {
	t.Helper()
	var n int64
	for _, row := range i.Query(t, q) {
		if len(row) < 2 {
			t.Fatalf("devsvc: influx count %q: row %v has no value after time", q, row)
		}
		num, ok := row[1].(json.Number)
		if !ok {
			t.Fatalf("devsvc: influx count %q: %v (%T) is not a number", q, row[1], row[1])
		}
		v, err := num.Int64()
		if err != nil {
			t.Fatalf("devsvc: influx count %q: %v", q, err)
		}
		n += v
	}
	return n
}

// query runs q (a read, or a write such as CREATE) and returns the rows of every
// series, time first in Unix milliseconds.
func (i *Influx) query(q string) ([][]any, error) {
	ss, err := influxread.New(i.URL, i.DB, "").Series(context.Background(), q)
	if err != nil {
		return nil, err
	}
	rows := [][]any{}
	for _, s := range ss {
		rows = append(rows, s.Values...)
	}
	return rows, nil
}
