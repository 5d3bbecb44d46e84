package dashboards_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"carebed/dashboards/board"
	"carebed/dashboards/influxql"
	"carebed/dashboards/interpolate"
	"carebed/internal/devsvc"
	"carebed/internal/testwait"
)

// testRange is the dashboards' time range in the test: the last hour.
const testRange = time.Hour

// selection is how the test sets the boards' variables and time filter.
type selection struct {
	name     string
	all      bool // "All" in multi-value variables, else every value listed
	absolute bool // $timeFilter in epoch milliseconds, else relative to now()
}

var selections = []selection{
	{"all values, relative time", true, false},
	{"each value listed, absolute time", false, true},
}

// sampleHome is the home the home board is looked at for.
const sampleHome = "H-0001"

// TestEveryPanelAnswersOnRealData loads simulated homes through the real gateway
// into real InfluxDB 1.8.3 and Prometheus, then for every panel query of every
// committed board expands Grafana's variables (chosen from their own queries) and
// macros as Grafana does, runs it, and checks that it answers rows with the columns
// the panel shows, and for some panels the rows the simulated day must produce.
func TestEveryPanelAnswersOnRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts InfluxDB, Mosquitto, Prometheus and the gateway")
	}
	s := startStack(t)
	s.load(t)
	t.Run("alert rules", func(t *testing.T) { rulesHealthy(t, s.prom) })
	sources := loadDatasources(t)
	wants := expectations(t, s)
	t.Run("positions of the selected township only", func(t *testing.T) { s.positionsOfOneTownship(t) })
	for _, b := range loadBoards(t) {
		t.Run(b.UID, func(t *testing.T) {
			for _, sel := range selections {
				vars := s.resolve(t, b, sel)
				for _, p := range b.Panels {
					for _, tg := range p.Targets {
						key := fmt.Sprintf("%s/%d/%s", b.UID, p.ID, tg.RefID)
						w, ok := wants[key]
						if !ok {
							t.Fatalf("%s: no expectation (is json/ generated?)", key)
						}
						req := interpolate.Request{Range: interpolate.TimeRange{Now: time.Now(), Last: testRange}, MaxDataPoints: width(p),
							MinInterval: minInterval(t, p, sources[tg.Datasource.UID]), Vars: vars, Absolute: sel.absolute}
						s.answers(t, fmt.Sprintf("%s %q (%s)", key, p.Title, sel.name), tg, req, w)
					}
				}
			}
		})
	}
}

// answers runs the target until its answer meets w or a minute passes.
func (s *stack) answers(t *testing.T, what string, tg targetJSON, req interpolate.Request, w want) {
	t.Helper()
	var text string
	var err error
	end := time.Now().Add(time.Minute)
	for {
		req.Range.Now = time.Now()
		var rows []row
		text, rows, err = s.ask(tg, req)
		if err == nil {
			err = w.check(rows)
		}
		if err == nil || time.Now().After(end) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("%s:\n  query: %s\n  %v", what, text, err)
	}
}

// ask expands and runs a target as Grafana would and returns the query it ran.
func (s *stack) ask(tg targetJSON, req interpolate.Request) (string, []row, error) {
	if tg.Datasource.Type == board.InfluxType {
		q := req.InfluxQL(tg.Query)
		ss, err := s.influxQL(q)
		return q, influxRows(ss), err
	}
	// Grafana aligns both ends of a range query down to the step.
	step := req.Interval()
	expr := req.PromQL(tg.Expr)
	ss, err := s.prom.QueryRange(expr, req.Range.From().Truncate(step), req.Range.Now.Truncate(step), step)
	return expr, promRows(ss), err
}

// width is the panel's width in pixels on a 1900-pixel screen: Grafana's default
// max data points.
func width(p panelJSON) int { return p.GridPos.W * 1900 / 24 }

// minInterval is the panel's interval, else the datasource's timeInterval.
func minInterval(t *testing.T, p panelJSON, ds datasource) time.Duration {
	t.Helper()
	if p.Interval == "" {
		return ds.minInterval(t)
	}
	iv, err := time.ParseDuration(p.Interval)
	if err != nil {
		t.Fatalf("panel %d: interval %q: %v", p.ID, p.Interval, err)
	}
	return iv
}

// resolve gives each of the board's variables its options, from its own query
// expanded with the variables before it, and selects values as sel says.
func (s *stack) resolve(t *testing.T, b boardFile, sel selection) []interpolate.Variable {
	t.Helper()
	var vars []interpolate.Variable
	for _, v := range b.Templating.List {
		iv := interpolate.Variable{Name: v.Name, Multi: v.Multi, IncludeAll: v.IncludeAll, AllValue: v.AllValue}
		if v.Type == "textbox" {
			iv.Selected = []string{fmt.Sprint(v.Current.Value)}
			vars = append(vars, iv)
			continue
		}
		req := interpolate.Request{Range: interpolate.TimeRange{Now: time.Now(), Last: testRange}, Vars: vars, Absolute: sel.absolute}
		iv.Options = s.variableOptions(t, v, req)
		for _, must := range s.mustList(v.Name) {
			if !slices.Contains(iv.Options, must) {
				t.Fatalf("variable %s of %s lists %v, without %s", v.Name, b.UID, iv.Options, must)
			}
		}
		switch {
		case v.Multi && v.IncludeAll && sel.all:
			iv.All = true
		case v.Multi:
			iv.Selected = iv.Options
		case v.Name == "home":
			iv.Selected = []string{sampleHome}
		default:
			iv.Selected = iv.Options[:1]
		}
		vars = append(vars, iv)
	}
	return vars
}

// labelValues is a Prometheus variable query, label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// variableOptions runs a query variable's query.
func (s *stack) variableOptions(t *testing.T, v variableJSON, req interpolate.Request) []string {
	t.Helper()
	var out []string
	if v.Datasource.Type == board.InfluxType {
		ss, err := s.influxQL(req.InfluxQL(v.Query))
		if err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		for _, r := range influxRows(ss) {
			out = append(out, r["value"])
		}
		return out
	}
	m := labelValues.FindStringSubmatch(v.Query)
	if m == nil {
		t.Fatalf("variable %s: query %q is not label_values(selector, label)", v.Name, v.Query)
	}
	out, err := s.prom.LabelValues(m[2], req.PromQL(m[1]))
	if err != nil {
		t.Fatalf("variable %s: %v", v.Name, err)
	}
	return out
}

// mustList are values a variable must offer with the simulated homes loaded.
func (s *stack) mustList(name string) []string {
	var out []string
	for _, h := range simHomes {
		out = append(out, map[string]string{"county": county, "township": h.township, "village": h.village, "home": h.id}[name])
	}
	if name == "instance" {
		return []string{s.gw.HTTPAddr()}
	}
	return slices.DeleteFunc(out, func(v string) bool { return v == "" })
}

// expectations are what each panel query must answer, by "uid/panel id/refId": the
// columns its definition names (dashboards/board), and the spot checks of spots.
func expectations(t *testing.T, s *stack) map[string]want {
	t.Helper()
	boards, err := board.All()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]want{}
	for _, b := range boards {
		for _, p := range b.Dashboard.Panels {
			for _, q := range p.Panel.Targets {
				switch tg := q.(type) {
				case influxql.Target:
					out[fmt.Sprintf("%s/%d/%s", *b.Dashboard.Uid, *p.Panel.Id, tg.RefID)] = want{columns: tg.Columns}
				case prometheus.Dataquery:
					out[fmt.Sprintf("%s/%d/%s", *b.Dashboard.Uid, *p.Panel.Id, *tg.RefId)] = want{columns: legendLabels(*tg.LegendFormat)}
				default:
					t.Fatalf("%s panel %d: query of type %T", *b.Dashboard.Uid, *p.Panel.Id, q)
				}
			}
		}
	}
	for key, sp := range spots(s) {
		w, ok := out[key]
		if !ok {
			t.Fatalf("spot check %s: no such panel query", key)
		}
		w.spot, w.positive = sp.spot, sp.positive
		out[key] = w
	}
	return out
}

// spots are what the simulated day must show on some panels.
func spots(s *stack) map[string]want {
	type m = map[string]string
	return map[string]want{
		"carebed-duty/1/A":    {spot: m{"severity": "critical"}},
		"carebed-duty/3/A":    {spot: m{"result": "failed"}, positive: true},
		"carebed-duty/4/A":    {spot: m{"home": sampleHome, "kind": "sos", "ack_role": s.ackRole, "state": "acknowledged"}},
		"carebed-duty/5/A":    {spot: m{"home": sampleHome}},
		"carebed-duty/5/B":    {spot: m{"home": "H-0006", "alert_score": "10"}},
		"carebed-duty/5/C":    {spot: m{"home": "H-0007", "offline_devices": "1"}},
		"carebed-duty/5/D":    {spot: m{"home": "H-0007", "silent_devices": "1"}},
		"carebed-duty/6/A":    {spot: m{"village": "古尔温村"}},
		"carebed-duty/6/B":    {spot: m{"village": "古尔温村", "offline_devices": "5"}},
		"carebed-duty/9/A":    {spot: m{"village": "古尔温村", "kind": "visit", "homes": "3"}},
		"carebed-duty/10/A":   {spot: m{"township": "巴伦台镇", "home": "H-0002", "device": sos("H-0002"), "lat": "43.1234", "lon": "86.0512", "acc_m": "12"}},
		"carebed-home/5/A":    {spot: m{"type": "sos"}},
		"carebed-home/6/A":    {spot: m{"change": "acknowledged", "ack_role": s.ackRole}},
		"carebed-fleet/1/B":   {spot: m{"offline": "6"}},
		"carebed-fleet/2/A":   {spot: m{"device": sos("H-0002"), "battery": "12"}},
		"carebed-fleet/3/A":   {spot: m{"device": sos("H-0007")}},
		"carebed-fleet/4/A":   {spot: m{"fw": "1.5.0"}},
		"carebed-fleet/5/C":   {spot: m{"village": "包尔布呼村", "replayed": "2"}},
		"carebed-gateway/2/A": {positive: true},
		"carebed-gateway/5/A": {spot: m{"status": "0"}, positive: true},
		"carebed-gateway/6/A": {spot: m{"channel": "sms", "result": "failed"}, positive: true},
		"carebed-gateway/7/A": {spot: m{"channel": "sms"}},
	}
}

// rulesHealthy checks that the real Prometheus loaded the IT office's alert rules
// (deploy/prometheus/carebed-rules.yml), evaluates each without error against the
// real gateway, and that none fires while all is well.
func rulesHealthy(t *testing.T, prom *devsvc.Prometheus) {
	testwait.Until(t, 30*time.Second, "every alert rule evaluated without error", func() (bool, string) {
		rules, err := prom.Rules()
		if err != nil {
			return false, err.Error()
		}
		var bad []string
		for _, r := range rules {
			if r.Health != "ok" || r.State == "firing" {
				bad = append(bad, fmt.Sprintf("%s: %s %s %s", r.Name, r.Health, r.State, r.LastError))
			}
		}
		return len(rules) >= 9 && len(bad) == 0, fmt.Sprintf("%d rules; %v", len(rules), bad)
	})
}

// positionsOfOneTownship runs the duty board's position map with one township
// selected, as its duty staff would: it shows that township's herder (H-0002, on
// its pasture, at the fix's time) and not the other township's (H-0006).
func (s *stack) positionsOfOneTownship(t *testing.T) {
	var duty boardFile
	for _, b := range loadBoards(t) {
		if b.UID == "carebed-duty" {
			duty = b
		}
	}
	var tg targetJSON
	for _, p := range duty.Panels {
		if p.Title == "流动人员位置" && len(p.Targets) == 1 {
			tg = p.Targets[0]
		}
	}
	if tg.Query == "" {
		t.Fatal("the duty board has no position map")
	}
	vars := []interpolate.Variable{
		{Name: "county", Multi: true, IncludeAll: true, AllValue: ".*", All: true},
		{Name: "township", Multi: true, IncludeAll: true, AllValue: ".*", Options: []string{"巴伦台镇", "乃门莫敦镇"}, Selected: []string{"巴伦台镇"}},
		{Name: "village", Multi: true, IncludeAll: true, AllValue: ".*", All: true},
	}
	req := interpolate.Request{Range: interpolate.TimeRange{Now: time.Now(), Last: testRange}, MaxDataPoints: 1900, Vars: vars}
	q, rows, err := s.ask(tg, req)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	fixAt := ""
	for _, r := range rows {
		if r["township"] != "巴伦台镇" || r["home"] == "H-0006" {
			t.Errorf("%s\nanswers %v of another township", q, r)
		}
		if r["home"] == "H-0002" {
			fixAt = r["time"]
		}
	}
	if fixAt == "" {
		t.Fatalf("%s\nanswers %v, without the township's herder H-0002", q, rows)
	}
	ms, err := strconv.ParseInt(fixAt, 10, 64) // influxread asks for epoch milliseconds
	if at := time.UnixMilli(ms); err != nil || time.Since(at) < 9*time.Minute || time.Since(at) > time.Hour {
		t.Errorf("H-0002's position is at %s (%v); its fix was taken ten minutes before the test sent it", fixAt, err)
	}
}
