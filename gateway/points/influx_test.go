package points

import (
	"testing"
	"time"

	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
)

// TestInfluxStoresOddTagValues is issue 21, item 11 against a real InfluxDB: a home
// whose ids end in a backslash (or hold commas, spaces, equals signs, quotes) gets
// its points stored. Before, InfluxDB answered 400 to every point of such a home.
func TestInfluxStoresOddTagValues(t *testing.T) {
	inf := devsvc.StartInflux(t)
	at := time.UnixMilli(1_764_400_000_000)
	s := Stamp{Received: at, LateAfter: time.Minute}
	var lines []byte
	homes := []string{`H-0001\`, `H\,2`, `H 3\\`, `H="4"`, `\`}
	for i, home := range homes {
		tg := Tags{County: "和静县", Township: `镇\`, Village: `村 一,组\`, Home: home, Device: "bed-1", Kind: "bed_sensor"}
		lines = AppendEvent(lines, tg, protocol.Event{Seq: uint64(i + 1), TS: at.UnixMilli(), Type: protocol.EventSOS}, s)
		lines = AppendTelemetry(lines, tg, protocol.Telemetry{Readings: []protocol.Reading{{Seq: uint64(i + 100), TS: at.UnixMilli(), HR: f(60)}}}, s)
		lines = AppendHome(lines, HomePoint{County: "和静县", Township: `镇\`, Village: `村 一,组\`, Home: home, Lat: 42.29, Lon: 86.31, HasLoc: true, Devices: 1, At: at})
	}
	inf.Write(t, string(lines)) // fails the test unless InfluxDB takes every point
	for _, home := range homes {
		stored := tagAsStored(home)
		for _, m := range []string{"event", "telemetry", "home"} {
			q := `SELECT COUNT(*) FROM "` + m + `" WHERE "home" = '` + influxQLString(stored) + `'`
			rows := inf.Query(t, q)
			if len(rows) != 1 {
				t.Errorf("%s of home %q (stored as %q): %d rows for %s", m, home, stored, len(rows), q)
			}
		}
	}
}

// influxQLString escapes s for an InfluxQL single-quoted string.
func influxQLString(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}
