package devsvc

import (
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
)

const (
	prometheusName  = "prometheus"
	prometheusReady = 30 * time.Second // deadline for a start
	prometheusGrace = 10 * time.Second // SIGTERM to SIGKILL
)

// Prometheus is a running real Prometheus 2 (Debian's package) started by
// deploy/dev/run-prometheus, scraping its targets' /metrics every second as job
// "carebed-gateway" (as deploy/prometheus/prometheus.yml does) and evaluating the
// shipped alert rules (deploy/prometheus/carebed-rules.yml).
type Prometheus struct {
	// URL is the HTTP API, "http://127.0.0.1:<port>".
	URL string
	// Dir holds prometheus.yml, the TSDB (data/) and the log.
	Dir string
	// LogFile is Dir/prometheus.log.
	LogFile string

	port    int
	targets []string
	proc    *proc
	client  *http.Client
}

// Sample is one value of a series at one time.
type Sample struct {
	Time  time.Time
	Value float64
}

// Series is one series of a query's answer: its labels and its values, oldest first
// (one for an instant query).
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// StartPrometheus starts Prometheus on a free loopback port in a new folder under
// t.TempDir(), scraping targets (host:port each), waits until it is ready (deadline
// 30 s), and stops it when the test ends. It skips or fails the test as Require does
// when prometheus is not installed, and fails the test when it does not start.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	Require(t, prometheusName)
	if len(targets) == 0 {
		t.Fatal("devsvc: StartPrometheus needs at least one target")
	}
	p := newPrometheus(filepath.Join(t.TempDir(), "prometheus"), targets)
	cleanup(t, prometheusGrace, func() *proc { return p.proc })
	startService(t, prometheusName, p)
	return p
}

func newPrometheus(dir string, targets []string) *Prometheus {
	return &Prometheus{Dir: dir, LogFile: filepath.Join(dir, "prometheus.log"), targets: targets,
		client: &http.Client{Timeout: 30 * time.Second}}
}

func (p *Prometheus) ports() int { return 1 }

func (p *Prometheus) setPorts(ports []int) {
	p.port, p.URL = ports[0], "http://127.0.0.1:"+strconv.Itoa(ports[0])
}

func (p *Prometheus) where() string { return p.URL }

// start runs the script and waits until the log says the web server listens on our
// port (so /-/ready is answered by this process) and /-/ready passes.
func (p *Prometheus) start() error {
	args := append([]string{strconv.Itoa(p.port), p.Dir}, p.targets...)
	pr, err := startProc(prometheusName, filepath.Dir(p.Dir), p.LogFile, args...)
	if err != nil {
		return err
	}
	p.proc = pr
	listening := fmt.Sprintf(`msg="Listening on" address=127.0.0.1:%d`, p.port)
	ready := func() error {
		if !strings.Contains(readFrom(pr.log, pr.logStart), listening) {
			return errors.New("no \"Listening on\" line in its log yet")
		}
		return p.ready()
	}
	if err := poll(prometheusReady, ready, pr.exited); err != nil {
		pr.kill()
		return err
	}
	return nil
}

func (p *Prometheus) ready() error {
	resp, err := p.client.Get(p.URL + "/-/ready")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/ready: %s", resp.Status)
	}
	return nil
}

// Pid returns prometheus's process id (0 before the start).
func (p *Prometheus) Pid() int {
	return p.proc.pid()
}

// Query runs the PromQL expression expr as an instant query at the current time and
// returns its series (a scalar comes back as one series without labels). It fails
// the test on any error.
func (p *Prometheus) Query(t testing.TB, expr string) []Series {
	t.Helper()
	s, err := p.get("/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		t.Fatalf("devsvc: prometheus query %q: %v", expr, err)
	}
	return s
}

// QueryRange runs expr over [start, end] every step, as Grafana's panels do, and
// returns its series. Unlike Query it returns errors, for callers that poll.
func (p *Prometheus) QueryRange(expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	return p.get("/api/v1/query_range", url.Values{"query": {expr},
		"start": {unixSeconds(start)}, "end": {unixSeconds(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}})
}

// LabelValues returns the values of label on series matching the series selector
// match (as Grafana's label_values(match, label) variable query does).
func (p *Prometheus) LabelValues(label, match string) ([]string, error) {
	body, err := p.call("/api/v1/label/"+url.PathEscape(label)+"/values", url.Values{"match[]": {match}})
	if err != nil {
		return nil, err
	}
	var values []string
	return values, json.Unmarshal(body, &values)
}

func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// get runs a query endpoint and decodes its vector, matrix or scalar.
func (p *Prometheus) get(path string, form url.Values) ([]Series, error) {
	body, err := p.call(path, form)
	if err != nil {
		return nil, err
	}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &data); err != nil {
		return nil, err
	}
	return decodeResult(data.ResultType, data.Result)
}

// Rule is a loaded alerting rule as Prometheus last evaluated it.
type Rule struct {
	Name      string `json:"name"`
	Health    string `json:"health"` // ok, err, or unknown before its first evaluation
	LastError string `json:"lastError"`
	State     string `json:"state"` // inactive, pending, firing
}

// Rules returns the alerting rules Prometheus loaded (GET /api/v1/rules).
func (p *Prometheus) Rules() ([]Rule, error) {
	body, err := p.call("/api/v1/rules", url.Values{"type": {"alert"}})
	if err != nil {
		return nil, err
	}
	var data struct {
		Groups []struct {
			Rules []Rule `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(body, &data); err != nil {
		return nil, err
	}
	var rules []Rule
	for _, g := range data.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules, nil
}

// call GETs path with the query parameters form and returns the data of a
// successful answer.
func (p *Prometheus) call(path string, form url.Values) (json.RawMessage, error) {
	resp, err := p.client.Get(p.URL + path + "?" + form.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w: %.300s", resp.Status, err, b)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", resp.Status, r.Error)
	}
	return r.Data, nil
}

// decodeResult turns the result of a query into series.
func decodeResult(typ string, raw json.RawMessage) ([]Series, error) {
	var items []struct {
		Metric map[string]string `json:"metric"`
		Value  []any             `json:"value"`
		Values [][]any           `json:"values"`
	}
	switch typ {
	case "scalar":
		var v []any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		s, err := sample(v)
		return []Series{{Labels: map[string]string{}, Samples: []Sample{s}}}, err
	case "vector", "matrix":
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("result type %q", typ)
	}
	out := make([]Series, 0, len(items))
	for _, it := range items {
		s := Series{Labels: it.Metric}
		if it.Value != nil {
			it.Values = append(it.Values, it.Value)
		}
		for _, v := range it.Values {
			smp, err := sample(v)
			if err != nil {
				return nil, err
			}
			s.Samples = append(s.Samples, smp)
		}
		out = append(out, s)
	}
	return out, nil
}

// sample decodes [<unix seconds>, "<value>"].
func sample(v []any) (Sample, error) {
	if len(v) != 2 {
		return Sample{}, fmt.Errorf("sample %v", v)
	}
	ts, ok1 := v[0].(float64)
	str, ok2 := v[1].(string)
	if !ok1 || !ok2 {
		return Sample{}, fmt.Errorf("sample %v", v)
	}
	f, err := strconv.ParseFloat(str, 64) // also "NaN", "+Inf", "-Inf"
	if err != nil {
		return Sample{}, err
	}
	return Sample{Time: time.UnixMilli(int64(ts * 1000)), Value: f}, nil
}
