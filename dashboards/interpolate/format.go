package interpolate

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// influxFormat is Grafana's InfluxDB interpolateQueryExpr: a multi-value variable
// (whose value is a list, even of one) becomes (a|b) of regex-escaped values; a single
// value stays as it is when it starts like a number or the query does not use the
// variable inside a regular expression (=~ /.../ or !~ /.../), else it is escaped.
func influxFormat(v Variable, vals []string, query string) string {
	if !v.Multi && len(vals) == 1 {
		s := vals[0]
		if numberLike.MatchString(s) || !inRegex(query, v.Name) {
			return s
		}
		return escapeRegex(s)
	}
	return "(" + strings.Join(mapStrings(vals, escapeRegex), "|") + ")"
}

// promFormat is Grafana's Prometheus interpolateQueryExpr.
func promFormat(v Variable, vals []string, _ string) string {
	if !v.Multi && !v.IncludeAll {
		return strings.Join(mapStrings(vals, promRegularEscape), ",")
	}
	esc := mapStrings(vals, promRegexEscape)
	if len(esc) == 1 {
		return esc[0]
	}
	return "(" + strings.Join(esc, "|") + ")"
}

// formatAs applies an explicit format, ${var:format}.
func formatAs(format string, vals []string) string {
	switch format {
	case "regex":
		if len(vals) == 1 {
			return escapeRegex(vals[0])
		}
		return "(" + strings.Join(mapStrings(vals, escapeRegex), "|") + ")"
	case "pipe":
		return strings.Join(vals, "|")
	case "singlequote":
		return strings.Join(mapStrings(vals, func(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }), ",")
	case "doublequote":
		return strings.Join(mapStrings(vals, func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }), ",")
	}
	return strings.Join(vals, ",") // raw, csv and formats Grafana does not know
}

// numberLike is what JavaScript's parseFloat reads a number from.
var numberLike = regexp.MustCompile(`^\s*[+-]?(\d|\.\d|Infinity)`)

// regexLiteral finds the regular expressions of an InfluxQL condition.
var regexLiteral = regexp.MustCompile(`[=!]~\s*/((?:[^/\\\n]|\\.)*)/`)

// inRegex reports whether the query uses variable name inside a regular expression.
func inRegex(query, name string) bool {
	for _, m := range regexLiteral.FindAllStringSubmatch(query, -1) {
		if strings.Contains(m[1], "$"+name) || strings.Contains(m[1], "${"+name) || strings.Contains(m[1], "[["+name) {
			return true
		}
	}
	return false
}

// escapeRegex is Grafana's escapeRegex: a backslash before each of \^$*+?.()|[]{}/.
func escapeRegex(s string) string { return escapeChars(s, `\^$*+?.()|[]{}/`, `\`) }

// promRegularEscape is Grafana's prometheusRegularEscape for a single value.
func promRegularEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\\'`)
}

// promRegexEscape is Grafana's prometheusSpecialRegexEscape: the value goes into a
// PromQL string that holds a regular expression, so each escape is doubled.
func promRegexEscape(s string) string {
	return escapeChars(strings.ReplaceAll(s, `\`, `\\\\`), `$^*{}[]'+?.()|`, `\\`)
}

func escapeChars(s, special, escape string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			b.WriteString(escape)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// FormatDuration writes d as Grafana writes intervals: the largest whole unit of
// y, d, h, m, s, ms ("5s", "1m", "200ms").
func FormatDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{365 * 24 * time.Hour, "y"}, {24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}}
	for _, u := range units {
		if d >= u.d {
			return fmt.Sprintf("%d%s", d/u.d, u.name)
		}
	}
	return "1ms"
}

// roundInterval is Grafana's roundInterval: the "nice" step for d.
func roundInterval(d time.Duration) time.Duration {
	ms := time.Millisecond
	steps := []struct{ upTo, step time.Duration }{
		{15 * ms, 10 * ms}, {35 * ms, 20 * ms}, {75 * ms, 50 * ms}, {150 * ms, 100 * ms}, {350 * ms, 200 * ms},
		{750 * ms, 500 * ms}, {1500 * ms, time.Second}, {3500 * ms, 2 * time.Second}, {7500 * ms, 5 * time.Second},
		{12500 * ms, 10 * time.Second}, {17500 * ms, 15 * time.Second}, {25 * time.Second, 20 * time.Second},
		{45 * time.Second, 30 * time.Second}, {90 * time.Second, time.Minute}, {210 * time.Second, 2 * time.Minute},
		{450 * time.Second, 5 * time.Minute}, {750 * time.Second, 10 * time.Minute}, {1050 * time.Second, 15 * time.Minute},
		{1500 * time.Second, 20 * time.Minute}, {2700 * time.Second, 30 * time.Minute}, {5400 * time.Second, time.Hour},
		{9000 * time.Second, 2 * time.Hour}, {16200 * time.Second, 3 * time.Hour}, {24300 * time.Second, 6 * time.Hour},
		{64800 * time.Second, 12 * time.Hour}, {129600 * time.Second, 24 * time.Hour}, {604800 * time.Second, 7 * 24 * time.Hour},
		{1814400 * time.Second, 30 * 24 * time.Hour},
	}
	for _, s := range steps {
		if d < s.upTo {
			return s.step
		}
	}
	return 365 * 24 * time.Hour
}
