package service

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
)

// TestAlertRulesUseMetricsTheGatewayExports: every carebed_* series the county IT
// office's alert rules (deploy/prometheus/carebed-rules.yml) watch is on a freshly
// started gateway's /metrics, with the embedded broker so its metrics are there too.
// A renamed metric would otherwise leave its alert silent for ever: promtool's tests
// use series they make up.
func TestAlertRulesUseMetricsTheGatewayExports(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(devsvc.RepoRoot(), "deploy/prometheus/carebed-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, true)
	e.register(deviceIDs("bed", 1))
	r := e.start()
	code, body := get(t, "http://"+r.g.HTTPAddr()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			exported[strings.Fields(name)[0]] = true
		}
	}
	used := regexp.MustCompile(`\bcarebed_[a-z_]+\b`).FindAllString(string(rules), -1)
	if len(used) < 8 {
		t.Fatalf("found only %d carebed_* names in the rules: %v", len(used), used)
	}
	for _, name := range used {
		if !exported[strings.TrimSuffix(name, "_bucket")] {
			t.Errorf("the rules watch %s, which a fresh gateway does not export", name)
		}
	}
}

// TestGatewayReportsMosquittoDrops: Mosquitto drops messages for a persistent
// session whose queue is full (max_queued_messages) and still acknowledges them to
// the device. The gateway reads Mosquitto's own count ($SYS) and exports it, for the
// IT office's CarebedBrokerDroppingMessages alert. Here another subscriber's
// session is away with a queue of 20, and 50 messages are published.
func TestGatewayReportsMosquittoDrops(t *testing.T) {
	e := newBareEnv(t)
	e.mq = devsvc.StartMosquittoWith(t, devsvc.MosquittoOptions{MaxQueued: 20, SysInterval: time.Second})
	e.cfg.MQTT.URL = e.mq.URL
	e.register(deviceIDs("bed", 1))
	offline := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(e.mq.URL).SetClientID("away").SetCleanSession(false))
	if tok := offline.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := offline.Subscribe("carebed/v1/+/telemetry", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	offline.Disconnect(100)
	r := e.start()
	dev := publishClient(t, e.mq.URL, "bed-0001")
	hr := 60.0
	for seq := uint64(1); seq <= 50; seq++ {
		publish(t, dev, protocol.DeviceTopic("bed-0001", protocol.KindTelemetry), protocol.EncodeReading(protocol.Reading{Seq: seq, HR: &hr}))
	}
	waitFor(t, 20*time.Second, "Mosquitto's 30 drops in the gateway's metrics", func() (bool, string) {
		n := metric(t, r.reg, "carebed_broker_dropped_messages_total", nil)
		return n == 30, fmt.Sprint(n)
	})
	waitFor(t, 10*time.Second, "the gateway, whose own queue was not full, storing all 50", func() (bool, string) {
		n := metric(t, r.reg, "carebed_ingest_messages_total", map[string]string{"kind": "telemetry", "result": "stored"})
		return n == 50, fmt.Sprint(n)
	})
}
