package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"carebed/gateway/auth"
	"carebed/gateway/config"
	"carebed/gateway/registry"
	"carebed/internal/devsvc"
	"carebed/internal/testwait"
)

// env is one test's real services, folders and configuration.
type env struct {
	t      *testing.T
	mq     *devsvc.Mosquitto
	influx *devsvc.Influx
	cfg    config.Config
	// logTo, when set, receives the gateway's log besides the test's log.
	logTo io.Writer
	// now, when set, is the gateway's clock.
	now func() time.Time
}

// newEnv starts InfluxDB and, unless embedded, Mosquitto, and configures a gateway
// for them in a fresh data folder.
func newEnv(t *testing.T, embedded bool) *env {
	t.Helper()
	e := newBareEnv(t)
	if embedded {
		e.cfg.EmbeddedBroker.Addr = "127.0.0.1:0"
		e.cfg.EmbeddedBroker.AllowNoPassword = true // tests of their own provision devices
	} else {
		e.mq = devsvc.StartMosquitto(t)
		e.cfg.MQTT.URL = e.mq.URL
	}
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return e
}

// newBareEnv starts InfluxDB and configures a gateway for it in a fresh data folder;
// the caller sets up the broker.
func newBareEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, influx: devsvc.StartInflux(t)}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Registry.Path = filepath.Join(cfg.DataDir, "registry.db")
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Influx.URL = e.influx.URL
	cfg.Influx.Bucket = e.influx.Bucket
	cfg.Influx.RetryMax = time.Second
	cfg.MQTT.ClientID = "gw-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	e.cfg = cfg
	return e
}

// deviceIDs returns n device ids with the given prefix.
func deviceIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i+1)
	}
	return ids
}

// register imports a ledger with one home per device into the gateway's registry,
// ten homes per village.
func (e *env) register(devices []string) { e.registerVillages(devices, 10) }

// registerVillages imports a ledger with one home per device, perVillage homes per
// village.
func (e *env) registerVillages(devices []string, perVillage int) {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
		"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n")
	for i, d := range devices {
		fmt.Fprintf(&b, "和静县,巴润哈尔莫敦镇,村%02d,H-%05d,老人%d,地址%d,42.3,86.4,%s,bed_sensor,探访员,13800000001,村医,13800000002,13900000%03d\n",
			i/perVillage, i, i, i, d, i%1000)
	}
	e.importLedger(b.String())
}

// openRegistry opens the registry at path (creating its folder), closed when the test
// ends. The gateway may have it open too: SQLite in WAL mode shares it.
func openRegistry(t *testing.T, path string) *registry.Store {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// registry opens the registry the gateway's configuration chooses (registry.path, or
// PostgreSQL when database.url is set), closed when the test ends.
func (e *env) registry() *registry.Store {
	e.t.Helper()
	if !e.cfg.Database.Postgres() {
		return openRegistry(e.t, e.cfg.Registry.Path)
	}
	reg, _, err := registry.OpenConfigured(context.Background(), e.cfg.Registry.Path, e.cfg.Database.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { reg.Close() })
	return reg
}

// importLedger imports a bed ledger CSV into the gateway's registry.
func (e *env) importLedger(csv string) {
	e.t.Helper()
	reg := e.registry()
	if _, err := reg.Import(context.Background(), strings.NewReader(csv), registry.ImportOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// running is an in-process gateway.
type running struct {
	g    *Gateway
	reg  *prometheus.Registry
	stop func()
}

// start runs a gateway in-process until the test ends or stop is called.
func (e *env) start() *running {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	var w io.Writer = testWriter{e.t}
	level := slog.LevelInfo
	if e.logTo != nil { // a test that reads the log reads all of it
		w, level = io.MultiWriter(w, e.logTo), slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	g, err := New(e.cfg, Options{Logger: log, Registry: reg, Now: e.now})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	r := &running{g: g, reg: reg}
	var stopped bool
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("gateway Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			e.t.Error("gateway did not stop within 60 s")
		}
	}
	e.t.Cleanup(r.stop)
	waitFor(e.t, 30*time.Second, "gateway ready", func() (bool, string) {
		rd := g.Readiness()
		return rd.Ready, fmt.Sprintf("%+v", rd)
	})
	return r
}

// testWriter sends logs to t.Log, so they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitFor polls cond until it holds or the deadline passes; then the test fails with
// cond's last description of the state.
func waitFor(t *testing.T, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testwait.Until(t, deadline, what, cond)
}

// metric sums the values of the named metric over series whose labels include want.
func metric(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, want) {
				sum += value(m)
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
			n++
		}
	}
	return n == len(want)
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// seqsIn returns, per device, the seq values stored in measurement, sorted.
func seqsIn(t *testing.T, inf *devsvc.Influx, measurement string) map[string][]uint64 {
	t.Helper()
	out := map[string][]uint64{}
	for _, row := range inf.Query(t, "SELECT seq, device FROM "+measurement) {
		n, err := row[1].(json.Number).Int64()
		if err != nil {
			t.Fatal(err)
		}
		d := row[2].(string)
		out[d] = append(out[d], uint64(n))
	}
	for _, s := range out {
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	}
	return out
}

// exactlyOnce checks that every acknowledged seq is stored and none twice.
func exactlyOnce(t *testing.T, stored, acked map[string][]uint64) {
	t.Helper()
	missing, dups := 0, 0
	for d, seqs := range acked {
		have := map[uint64]int{}
		for _, s := range stored[d] {
			have[s]++
		}
		for _, s := range seqs {
			if have[s] == 0 {
				missing++
				if missing <= 5 {
					t.Errorf("device %s seq %d acknowledged by the broker but not in InfluxDB", d, s)
				}
			}
		}
		for s, n := range have {
			if n > 1 {
				dups++
				if dups <= 5 {
					t.Errorf("device %s seq %d stored %d times", d, s, n)
				}
			}
		}
	}
	if missing+dups > 0 {
		t.Fatalf("%d missing, %d duplicated", missing, dups)
	}
}

// total counts seqs over all devices.
func total(m map[string][]uint64) int {
	n := 0
	for _, s := range m {
		n += len(s)
	}
	return n
}

// get fetches url and returns the body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// addUser saves an API user with password (empty: none) in the registry and returns
// an API token acting as them.
func (e *env) addUser(u registry.User, password string) string {
	e.t.Helper()
	if err := auth.CheckUser(u); err != nil {
		e.t.Fatal(err)
	}
	if password != "" {
		u.PasswordHash = auth.HashPassword(password)
	}
	u.Created = time.Now()
	reg := e.registry()
	if err := reg.PutUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	token, err := auth.New(auth.Options{Store: reg}).NewAPIToken(context.Background(), u.Name, "test", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return token
}

// countyAdmin adds a county administrator of county and returns their API token.
func (e *env) countyAdmin(county string) string {
	return e.addUser(registry.User{Name: "admin", Display: "县管理员", Role: auth.RoleCountyAdmin, County: county}, "")
}

// call makes an HTTP request with a bearer token (empty: none) and a JSON body
// (empty: none) and returns the status and body.
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
