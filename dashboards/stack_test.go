package dashboards_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"carebed/alerting/notify/twilio/twiliotest"
	"carebed/gateway/config"
	"carebed/gateway/service"
	"carebed/internal/devsvc"
	"carebed/internal/testwait"
)

// stack is the end-to-end test's world: real InfluxDB 1.8, Mosquitto and
// Prometheus, a fake Twilio behind the real client, and the real gateway in-process.
type stack struct {
	influx *devsvc.Influx
	mq     *devsvc.Mosquitto
	prom   *devsvc.Prometheus
	twilio *twiliotest.API
	gw     *service.Gateway
	public string // the gateway's HTTP base URL, as Twilio calls it
	pub    mqtt.Client
	seq    map[string]uint64 // each device's last seq
	// ackRole is the role of whoever took the first SOS (the test's spot check).
	ackRole string
}

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "0123456789abcdef0123456789abcdef"
	twilioFrom  = "+15005550006"
)

// policy is the design's critical ladder, with the clinic step later than the test.
const policy = `
ladders:
  critical:
    steps:
      - {after: 0s, notify: [family, village_doctor, village_visitor], channels: [sms]}
      - {after: 10m, notify: [township_clinic], channels: [sms]}
    repeat: 0s
visits:
  due_list_at: "00:00" # the morning lists (and the 探访巡诊 panel's counts) at the gateway's start
`

// startStack starts the services, imports the ledger, runs the gateway and starts
// Prometheus scraping it.
func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{influx: devsvc.StartInflux(t), mq: devsvc.StartMosquitto(t),
		twilio: twiliotest.NewAPI(twilioSID, twilioToken), seq: map[string]uint64{}}
	cfg := s.config(t)
	importLedger(t, cfg.Registry.Path)
	s.gw = runGateway(t, cfg)
	s.prom = devsvc.StartPrometheus(t, s.gw.HTTPAddr())
	testwait.Until(t, 30*time.Second, "Prometheus scraping the gateway", func() (bool, string) {
		up := s.prom.Query(t, `up{job="carebed-gateway"}`)
		return len(up) == 1 && up[0].Samples[0].Value == 1, fmt.Sprint(up)
	})
	s.pub = mqttClient(t, s.mq.URL)
	return s
}

// config is the gateway's configuration for this stack.
func (s *stack) config(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Registry.Path = filepath.Join(cfg.DataDir, "registry.db")
	cfg.Registry.Refresh = time.Second // the home measurement is written at each refresh
	addr := testwait.FreeAddr(t)
	s.public = "http://" + addr
	cfg.HTTP.Addr = addr
	cfg.Influx.URL, cfg.Influx.Bucket, cfg.Influx.RetryMax = s.influx.URL, s.influx.Bucket, time.Second
	cfg.MQTT.URL, cfg.MQTT.ClientID = s.mq.URL, "gw-dashboards"
	cfg.Twilio.AccountSID, cfg.Twilio.AuthToken, cfg.Twilio.From = twilioSID, twilioToken, twilioFrom
	cfg.Twilio.BaseURL, cfg.Twilio.PublicURL = twiliotest.Serve(t, s.twilio), s.public
	if err := yaml.Unmarshal([]byte(policy), &cfg.Alerting); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runGateway runs the gateway until the test ends and waits until it is ready.
func runGateway(t *testing.T, cfg config.Config) *service.Gateway {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	g, err := service.New(cfg, service.Options{Logger: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gateway Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("the gateway did not stop within 60 s")
		}
	})
	testwait.Until(t, 30*time.Second, "gateway ready", func() (bool, string) {
		r := g.Readiness()
		return r.Ready, fmt.Sprintf("%+v", r)
	})
	return g
}

// testWriter sends the gateway's log to t.Log, shown for failing tests only.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// mqttClient connects a publisher playing the devices.
func mqttClient(t *testing.T, url string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("dashboards-homes").
		SetCleanSession(true).SetConnectTimeout(10 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}
