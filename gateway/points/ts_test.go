package points

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

// InfluxDB's time range, in ns (its models.MinNanoTime and MaxNanoTime).
const minNano, maxNano = math.MinInt64 + 2, math.MaxInt64 - 1

// TestTimestampsInInfluxRange is issue 21, item 9: ms*10^6 overflowed, so a year-2300
// ts was stored in 1715 and 2^63-1 in 1969. A ts past protocol.MaxTS is stored at the
// arrival and flagged ts_invalid.
func TestTimestampsInInfluxRange(t *testing.T) {
	recv := time.UnixMilli(1_764_400_000_000)
	stamp := Stamp{Received: recv, LateAfter: time.Minute}
	year2300 := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	cases := []struct {
		name    string
		ts      int64
		wantMS  int64 // the point's ms
		invalid bool
	}{
		{"no clock", 0, recv.UnixMilli(), false},
		{"1 ms after the epoch", 1, 1, false},
		{"now", 1_764_399_999_000, 1_764_399_999_000, false},
		{"MaxTS, the last ms InfluxDB holds", protocol.MaxTS, protocol.MaxTS, false},
		{"MaxTS+1", protocol.MaxTS + 1, recv.UnixMilli(), true},
		{"year 2300", year2300, recv.UnixMilli(), true},
		{"2^63-1", math.MaxInt64, recv.UnixMilli(), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const seq = math.MaxUint64 // the largest seq%10^6: 551615
			lines := map[string][]byte{
				"telemetry": AppendTelemetry(nil, tags, protocol.Telemetry{Readings: []protocol.Reading{{Seq: seq, TS: c.ts, HR: f(60)}}}, stamp),
				"event":     AppendEvent(nil, tags, protocol.Event{Seq: seq, TS: c.ts, Type: protocol.EventSOS}, stamp),
				"status":    AppendStatus(nil, tags, protocol.Status{Seq: seq, TS: c.ts, Online: true}, stamp),
			}
			for kind, line := range lines {
				s := strings.TrimSuffix(string(line), "\n")
				ns, err := strconv.ParseInt(s[strings.LastIndexByte(s, ' ')+1:], 10, 64)
				if err != nil {
					t.Fatalf("%s: %v in %s", kind, err, s)
				}
				if want := c.wantMS*1_000_000 + seq%1_000_000; ns != want || ns < minNano || ns > maxNano {
					t.Errorf("%s: timestamp %d (%s), want %d", kind, ns, time.Unix(0, ns).UTC(), want)
				}
				if got := strings.Contains(s, "ts_invalid=t"); got != c.invalid {
					t.Errorf("%s: ts_invalid flag %v, want %v: %s", kind, got, c.invalid, s)
				}
				if c.invalid && strings.Contains(s, "late=t") {
					t.Errorf("%s: flagged late: %s", kind, s)
				}
			}
		})
	}
}
