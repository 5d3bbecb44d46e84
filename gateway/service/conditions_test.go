package service

import (
	"carebed/alerting"
	"context"
	"fmt"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	asqlite "carebed/alerting/sqlite"
	"carebed/gateway/protocol"
)

// TestRestartStillFindsSilentDevice: a device heard before a gateway restart and
// never after is reported offline by the restarted gateway. The rules keep their
// per-device state in the alert store; before, a restarted gateway knew only the
// devices it had heard since, and a device that fell silent across the restart
// (with no Last Will, e.g. a hung firmware) was never reported.
func TestRestartStillFindsSilentDevice(t *testing.T) {
	e := newEnv(t, false)
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("rules: {offline_heartbeats: 1}\n"), &node); err != nil {
		t.Fatal(err)
	}
	e.cfg.Alerting = node
	e.register([]string{"bed-0001"})
	first := e.start()
	c := publishClient(t, e.mq.URL, "bed-0001")
	publish(t, c, protocol.DeviceTopic("bed-0001", protocol.KindStatus),
		protocol.EncodeStatus(protocol.Status{Seq: 1, Online: true, HeartbeatS: 10}))
	c.Disconnect(100) // cleanly: no Last Will
	waitFor(t, 10*time.Second, "the status taken in", func() (bool, string) {
		n := metric(t, first.reg, "carebed_ingest_messages_total", map[string]string{"kind": "status", "result": "stored"})
		return n == 1, fmt.Sprint(n)
	})
	first.stop()
	st, err := asqlite.Open(e.cfg.AlertsPath())
	if err != nil {
		t.Fatal(err)
	}
	n := offlineAlerts(t, st)
	st.Close()
	if n != 0 {
		t.Fatalf("%d offline alerts before the restart: the first gateway ran too long for this test", n)
	}
	second := e.start()
	waitFor(t, 30*time.Second, "the silent device reported offline", func() (bool, string) {
		n := offlineAlerts(t, second.g.alerts)
		return n == 1, fmt.Sprint(n, " device_offline alerts")
	})
}

func offlineAlerts(t *testing.T, st alerting.Reader) int {
	t.Helper()
	all, err := st.List(context.Background(), alerting.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range all {
		if a.Kind == "device_offline" && a.Device == "bed-0001" {
			n++
		}
	}
	return n
}
