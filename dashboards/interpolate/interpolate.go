// Package interpolate expands a Grafana panel query the way Grafana does before it
// sends it to the datasource: template variables ($county, ${county}, [[county]],
// ${county:pipe}) formatted as the InfluxDB or Prometheus datasource formats them
// (a multi-value selection becomes the regular expression (a|b) with each value
// escaped; "All" with a custom all value becomes that value unformatted), the
// interval macros ($__interval, $__interval_ms, $__rate_interval, $__range, ...)
// computed from the time range and the panel's width, and InfluxQL's $timeFilter.
//
// It follows Grafana 10/11's public behaviour (templateSrv.replace, the datasources'
// interpolateQueryExpr, rangeutil.calculateInterval); the dashboards' tests use it to
// run every panel query against real InfluxDB and Prometheus.
package interpolate

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Variable is a dashboard template variable and what is selected in it.
type Variable struct {
	Name       string
	Multi      bool
	IncludeAll bool
	// AllValue is the custom value of "All"; "" means every option.
	AllValue string
	// Options are the values the variable's query returned.
	Options []string
	// Selected are the selected values, unless All is.
	Selected []string
	All      bool
}

// values returns the selected values: every option for All.
func (v Variable) values() []string {
	if v.All {
		return v.Options
	}
	return v.Selected
}

// TimeRange is a dashboard time range relative to now, e.g. "now-1h" to "now".
type TimeRange struct {
	// Now is when the query runs.
	Now time.Time
	// Last is how far back the range starts.
	Last time.Duration
}

// From is the start of the range.
func (r TimeRange) From() time.Time { return r.Now.Add(-r.Last) }

// Request is what Grafana knows when it runs a panel's queries.
type Request struct {
	Range TimeRange
	// MaxDataPoints is the panel's width in pixels (or its max data points option).
	MaxDataPoints int
	// MinInterval is the panel's or the datasource's minimum interval (a Prometheus
	// datasource's timeInterval, its scrape interval).
	MinInterval time.Duration
	// Vars are the dashboard's variables with their selections.
	Vars []Variable
	// Absolute writes $timeFilter with epoch milliseconds, as Grafana's backend does
	// since InfluxQL moved there; else relative to now(), as its frontend did.
	Absolute bool
}

// Interval is $__interval: the range divided by the data points, rounded to a
// "nice" step, and no less than MinInterval.
func (r Request) Interval() time.Duration {
	n := r.MaxDataPoints
	if n <= 0 {
		n = 1000
	}
	return max(roundInterval(r.Range.Last/time.Duration(n)), r.MinInterval)
}

// RateInterval is Prometheus's $__rate_interval: the larger of $__interval plus the
// scrape interval and four scrape intervals.
func (r Request) RateInterval() time.Duration {
	return max(r.Interval()+r.MinInterval, 4*r.MinInterval)
}

// InfluxQL expands an InfluxQL query.
func (r Request) InfluxQL(q string) string {
	out := r.replace(q, r.scoped(), influxFormat)
	return strings.NewReplacer("$__timeFilter", r.timeFilter(), "$timeFilter", r.timeFilter()).Replace(out)
}

// PromQL expands a PromQL expression.
func (r Request) PromQL(expr string) string {
	scoped := r.scoped()
	// Grafana's backend writes the rate interval as Go does ("1m15s", "1m0s").
	scoped["__rate_interval"] = r.RateInterval().String()
	scoped["__rate_interval_ms"] = strconv.FormatInt(r.RateInterval().Milliseconds(), 10)
	return r.replace(expr, scoped, promFormat)
}

// scoped are the built-in variables of a panel query.
func (r Request) scoped() map[string]string {
	iv, rng := r.Interval(), r.Range.Last
	return map[string]string{
		"__interval": FormatDuration(iv), "__interval_ms": strconv.FormatInt(iv.Milliseconds(), 10),
		"__range":    strconv.FormatInt(int64(rng.Round(time.Second)/time.Second), 10) + "s",
		"__range_s":  strconv.FormatInt(int64(rng.Round(time.Second)/time.Second), 10),
		"__range_ms": strconv.FormatInt(rng.Milliseconds(), 10),
	}
}

// timeFilter is InfluxQL's $timeFilter for the range.
func (r Request) timeFilter() string {
	if r.Absolute {
		return "time >= " + strconv.FormatInt(r.Range.From().UnixMilli(), 10) + "ms and time <= " +
			strconv.FormatInt(r.Range.Now.UnixMilli(), 10) + "ms"
	}
	return "time >= now() - " + FormatDuration(r.Range.Last) + " and time <= now()"
}

// varRE is Grafana's variable syntax: $name, [[name:format]], ${name.field:format}.
var varRE = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// formatter formats a variable's values where the query holds no explicit format.
type formatter func(v Variable, vals []string, query string) string

// replace expands the built-in and dashboard variables in text; unknown names stay.
func (r Request) replace(text string, scoped map[string]string, format formatter) string {
	return varRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		name, explicit := sub[1]+sub[2]+sub[4], sub[3]+sub[6]
		if s, ok := scoped[name]; ok {
			return s
		}
		v, ok := r.variable(name)
		if !ok {
			return m
		}
		if v.All && v.AllValue != "" {
			return v.AllValue // Grafana does not format a custom all value
		}
		if explicit != "" {
			return formatAs(explicit, v.values())
		}
		return format(v, v.values(), text)
	})
}

func (r Request) variable(name string) (Variable, bool) {
	for _, v := range r.Vars {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}
