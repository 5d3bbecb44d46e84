package points

import (
	"strings"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"

	"carebed/gateway/protocol"
)

// tagAsStored is what InfluxDB keeps of tag value v as appendTag writes it.
func tagAsStored(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			b.WriteString("＼")
		case c < 0x20 || c == 0x7f:
			b.WriteByte('_')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// checkParsesBack parses line with InfluxData's line-protocol parser and checks that
// its tags are want's non-empty values as stored.
func checkParsesBack(t *testing.T, line []byte, want map[string]string) {
	t.Helper()
	ms, err := lp.NewParser(lp.NewMetricHandler()).Parse(line)
	if err != nil || len(ms) != 1 {
		t.Fatalf("line %q does not parse as one point: %v (%d points)", line, err, len(ms))
	}
	got := map[string]string{}
	for _, tag := range ms[0].TagList() {
		got[tag.Key] = tag.Value
	}
	for k, v := range want {
		if v == "" {
			if _, ok := got[k]; ok {
				t.Errorf("line %q has an empty tag %s", line, k)
			}
			continue
		}
		if got[k] != tagAsStored(v) {
			t.Errorf("tag %s = %q, want %q (from %q) in line %q", k, got[k], tagAsStored(v), v, line)
		}
	}
}

// TestTagValuesParseBack is issue 21, item 11: a backslash at the end of a home id
// escaped the comma after it, and InfluxDB refused every point of the home.
func TestTagValuesParseBack(t *testing.T) {
	for _, v := range []string{`H-1\`, `H\,1`, `H\ 1`, `\`, `\\`, `H\=1`, `村\`, `a b,c=d`, `"q"`, "tab\tnl\nff\f", `H\"`, `H\x`} {
		t.Run(v, func(t *testing.T) {
			tg := Tags{County: v, Township: v, Village: v, Home: v, Device: "bed-1", Kind: v}
			line := AppendEvent(nil, tg, protocol.Event{Seq: 1, Type: protocol.EventSOS}, Stamp{Received: time.UnixMilli(1)})
			checkParsesBack(t, line, map[string]string{"county": v, "township": v, "village": v, "home": v, "kind": v})
			home := AppendHome(nil, HomePoint{County: v, Township: v, Village: v, Home: v, At: time.UnixMilli(1)})
			checkParsesBack(t, home, map[string]string{"county": v, "home": v})
		})
	}
}

// FuzzTagValues writes points with arbitrary place and home ids, as a ledger may hold
// them, and checks that each parses back as one point with those tags.
func FuzzTagValues(fz *testing.F) {
	fz.Add("和静县", "巴润哈尔莫敦镇", "村01", `H-0001\`)
	fz.Add(`a\`, `\\`, `b\ c`, `d=\,e`)
	fz.Add("x\ty", "\f", "a\n", `"`)
	fz.Fuzz(func(t *testing.T, county, township, village, home string) {
		tg := Tags{County: county, Township: township, Village: village, Home: home, Device: "bed-1", Kind: "bed_sensor"}
		want := map[string]string{"county": county, "township": township, "village": village, "home": home}
		s := Stamp{Received: time.UnixMilli(1_764_400_000_000)}
		checkParsesBack(t, AppendEvent(nil, tg, protocol.Event{Seq: 1, Type: protocol.EventSOS}, s), want)
		checkParsesBack(t, AppendTelemetry(nil, tg, protocol.Telemetry{Readings: []protocol.Reading{{Seq: 2, HR: f(60)}}}, s), want)
		checkParsesBack(t, AppendHome(nil, HomePoint{County: county, Township: township, Village: village, Home: home, At: s.Received}), want)
		checkParsesBack(t, AppendAlert(nil, AlertPoint{County: county, Township: township, Village: village, Home: home,
			Device: "bed-1", Kind: "sos", Severity: "critical", Code: "A1", State: "open", Change: "raised", At: s.Received}), want)
	})
}
