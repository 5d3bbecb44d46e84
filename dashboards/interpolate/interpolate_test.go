package interpolate

import (
	"testing"
	"time"
)

func TestInfluxQL(t *testing.T) {
	now := time.UnixMilli(1_764_400_000_000)
	places := []Variable{
		{Name: "county", Multi: true, IncludeAll: true, AllValue: ".*", All: true, Options: []string{"和静县"}},
		{Name: "township", Multi: true, IncludeAll: true, AllValue: ".*", Selected: []string{"巴伦台镇", "乃门莫敦镇"}},
		{Name: "village", Multi: true, IncludeAll: true, Selected: []string{"村(一)"}},
		{Name: "home", Selected: []string{"H.1/2"}},
		{Name: "number", Selected: []string{"2组"}},
		{Name: "numbers", Multi: true, Selected: []string{"2组"}},
		{Name: "every", Multi: true, IncludeAll: true, All: true, Options: []string{"a", "b"}},
	}
	hour := Request{Range: TimeRange{Now: now, Last: time.Hour}, MaxDataPoints: 1000, Vars: places}
	tenSeconds := hour
	tenSeconds.MinInterval = 10 * time.Second
	absolute := hour
	absolute.Absolute = true
	for _, c := range []struct {
		name string
		r    Request
		in   string
		want string
	}{
		{"all with a custom all value is not formatted", hour, `"county" =~ /^$county$/`, `"county" =~ /^.*$/`},
		{"several values become an alternation", hour, `"township" =~ /^$township$/`, `"township" =~ /^(巴伦台镇|乃门莫敦镇)$/`},
		{"multi with one value is escaped and grouped", hour, `"village" =~ /^$village$/`, `"village" =~ /^(村\(一\))$/`},
		{"all without a custom value lists every option", hour, `"k" =~ /^$every$/`, `"k" =~ /^(a|b)$/`},
		{"single value in a regex is escaped", hour, `"home" =~ /^$home$/`, `"home" =~ /^H\.1\/2$/`},
		{"single value outside a regex is not", hour, `"home" = '$home'`, `"home" = 'H.1/2'`},
		{"number-like values stay", hour, `"v" =~ /^$number$/`, `"v" =~ /^2组$/`},
		{"but not in a multi-value list", hour, `"v" =~ /^$numbers$/`, `"v" =~ /^(2组)$/`},
		{"braces and brackets", hour, `${home} [[home]] ${township:pipe} ${home:raw}`, `H.1/2 H.1/2 巴伦台镇|乃门莫敦镇 H.1/2`},
		{"unknown names stay", hour, `$nobody ${nobody}`, `$nobody ${nobody}`},
		{"interval from the range and width", hour, `GROUP BY time($__interval) -- $__interval_ms`, `GROUP BY time(5s) -- 5000`},
		{"minimum interval", tenSeconds, `time($__interval)`, `time(10s)`},
		{"range", hour, `$__range $__range_s $__range_ms`, `3600s 3600 3600000`},
		{"relative time filter", hour, `WHERE $timeFilter AND x`, `WHERE time >= now() - 1h and time <= now() AND x`},
		{"absolute time filter", absolute, `WHERE $timeFilter`, `WHERE time >= 1764396400000ms and time <= 1764400000000ms`},
		{"rate interval is Prometheus only", hour, `$__rate_interval`, `$__rate_interval`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.InfluxQL(c.in); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestPromQL(t *testing.T) {
	now := time.UnixMilli(1_764_400_000_000)
	vars := []Variable{
		{Name: "instance", Multi: true, IncludeAll: true, Selected: []string{"127.0.0.1:9000", "127.0.0.1:9001"}},
		{Name: "one", Multi: true, IncludeAll: true, Selected: []string{"a.b"}},
		{Name: "plain", Selected: []string{`it's`}},
		{Name: "any", Multi: true, IncludeAll: true, AllValue: ".+", All: true},
	}
	r := Request{Range: TimeRange{Now: now, Last: time.Hour}, MaxDataPoints: 1000, MinInterval: 15 * time.Second, Vars: vars}
	day := r
	day.Range.Last = 24 * time.Hour
	for _, c := range []struct {
		name string
		r    Request
		in   string
		want string
	}{
		{"rate interval is four scrapes", r, `rate(x[$__rate_interval])`, `rate(x[1m0s])`},
		{"rate interval over a day", day, `rate(x[$__rate_interval]) $__interval`, `rate(x[1m15s]) 1m`},
		{"multi values", r, `x{instance=~"$instance"}`, `x{instance=~"(127\\.0\\.0\\.1:9000|127\\.0\\.0\\.1:9001)"}`},
		{"one of a multi", r, `x{k=~"$one"}`, `x{k=~"a\\.b"}`},
		{"single value", r, `x{k="$plain"}`, `x{k="it\\'s"}`},
		{"all", r, `x{k=~"$any"}`, `x{k=~".+"}`},
		{"range", r, `increase(x[$__range])`, `increase(x[3600s])`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.PromQL(c.in); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestIntervals(t *testing.T) {
	for _, c := range []struct {
		last     time.Duration
		points   int
		min      time.Duration
		interval string
	}{
		{time.Hour, 1000, 0, "5s"},
		{time.Hour, 0, 0, "5s"},
		{6 * time.Hour, 1000, 0, "20s"},
		{24 * time.Hour, 1000, 0, "1m"},
		{7 * 24 * time.Hour, 1000, 0, "10m"},
		{5 * time.Minute, 1000, 0, "200ms"},
		{5 * time.Minute, 1000, 15 * time.Second, "15s"},
	} {
		r := Request{Range: TimeRange{Last: c.last}, MaxDataPoints: c.points, MinInterval: c.min}
		if got := FormatDuration(r.Interval()); got != c.interval {
			t.Errorf("%v over %d points (min %v): $__interval %s, want %s", c.last, c.points, c.min, got, c.interval)
		}
	}
}
