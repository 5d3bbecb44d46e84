package service

import (
	"fmt"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"carebed/gateway/protocol"
)

// TestPresenceStored: a device's status, its Last Will, a message after it and its
// silence (offline_heartbeats 1 of 10 s) each land in InfluxDB's presence measurement, which
// the monthly report reckons time online from.
func TestPresenceStored(t *testing.T) {
	e := newEnv(t, false)
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("rules: {offline_heartbeats: 1}\n"), &node); err != nil {
		t.Fatal(err)
	}
	e.cfg.Alerting = node
	e.register(deviceIDs("bed", 1))
	e.start()
	c := publishClient(t, e.mq.URL, "bed-0001")
	now := time.Now()
	publish(t, c, "carebed/v1/bed-0001/status", protocol.EncodeStatus(protocol.Status{Seq: 1, TS: now.UnixMilli(), Online: true, HeartbeatS: 10}))
	publish(t, c, "carebed/v1/bed-0001/status", protocol.EncodeStatus(protocol.Status{Seq: 2, TS: now.UnixMilli(), Online: false}))
	publish(t, c, "carebed/v1/bed-0001/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 3, TS: now.UnixMilli(), HR: f64(64)}))
	want := "[[status true] [status false] [message true] [silent false]]"
	waitFor(t, 40*time.Second, "four presence points", func() (bool, string) {
		var got [][]any
		for _, row := range e.influx.Query(t, `SELECT cause, online FROM presence WHERE device = 'bed-0001' AND home = 'H-00000'`) {
			got = append(got, row[1:])
		}
		return fmt.Sprint(got) == want, fmt.Sprint(got)
	})
}
