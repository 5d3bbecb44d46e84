package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/fleet"
	"carebed/gateway/influxread"
	"carebed/internal/devsvc"
)

const (
	// telegrafClientID is mqtt_consumer's fixed client id (a persistent session needs one).
	telegrafClientID = "telegraf-bench"
	// telegrafProbe is the device whose readings tell that Telegraf is subscribed and
	// writing; it is not one of the fleet's devices.
	telegrafProbe = "probe-telegraf"
)

// BenchmarkTelegraf measures the reference the gateway is compared against, Telegraf's
// mqtt_consumer -> influxdb, with BenchmarkPipeline's method: per offered rate a fresh
// stand of real Mosquitto and InfluxDB with Telegraf as its own process instead of the
// gateway, the same publisher, and the same figures (what landed, how late, CPU per
// 1,000 messages of every process). Telegraf is built by deploy/dev/install-telegraf.
func BenchmarkTelegraf(b *testing.B) {
	bin := filepath.Join(devsvc.RepoRoot(), ".bin", "telegraf")
	if err := exec.Command(bin, "--version").Run(); err != nil {
		b.Fatalf("no working Telegraf at %s (%v): run deploy/dev/install-telegraf (make bench-telegraf does)", bin, err)
	}
	for _, rate := range rates {
		b.Run(fmt.Sprintf("rate=%.0f", rate), func(b *testing.B) {
			for range b.N {
				s := newTelegrafStand(b, bin)
				res, written := s.step(b, rate)
				b.ReportMetric(res.offered, "offered_msg/s")
				b.ReportMetric(res.achieved, "sent_msg/s")
				b.ReportMetric(float64(res.lost), "lost")
				b.ReportMetric(res.lag.Seconds(), "lag_s")
				b.ReportMetric(res.cpuPer1000.Seconds()*1000, "cpu_ms/1000msg")
				keeps := res.lost == 0 && res.lag <= lagLimit
				b.ReportMetric(res.mosquittoPer1000.Seconds()*1000, "mosquitto_cpu_ms/1000msg")
				b.ReportMetric(res.influxPer1000.Seconds()*1000, "influxd_cpu_ms/1000msg")
				b.ReportMetric(res.publisherPer1000.Seconds()*1000, "publisher_cpu_ms/1000msg")
				b.Logf("offered %.0f msg/s: sent %d (%.0f msg/s), written %d, stored %d, lost %d, last landed %.2fs after last publish, telegraf CPU %.2f ms/1000 msg, keeps up: %v; CPU ms/1000 msg of mosquitto %.1f, influxd %.1f, publisher %.1f",
					res.offered, res.sent, res.achieved, written, res.stored, res.lost, res.lag.Seconds(),
					res.cpuPer1000.Seconds()*1000, keeps,
					res.mosquittoPer1000.Seconds()*1000, res.influxPer1000.Seconds()*1000, res.publisherPer1000.Seconds()*1000)
			}
		})
	}
}

// telegrafStand is newStand's setup with Telegraf in place of the gateway.
type telegrafStand struct {
	mq      *devsvc.Mosquitto
	influx  *devsvc.Influx
	tg      *exec.Cmd
	devices []string
	// pprofURL serves Telegraf's profiles when CAREBED_BENCH_CPUPROFILE is set.
	pprofURL string
}

// telegrafConfig is Telegraf's configuration for one stand: mqtt_consumer tuned as
// the issue says, the protocol v1 reading as one point per message in measurement
// telemetry with the device id (from the topic) as its tag, written to database db.
//
// The point's timestamp is the time Telegraf parsed the message (json_v2's default),
// not the reading's ts: ts has millisecond precision, and two readings of one device
// in the same millisecond would be one point in InfluxDB (same series, same time).
// The gateway avoids that by adding seq mod 10^6 nanoseconds; json_v2 cannot. ts is
// kept as a field.
func telegrafConfig(mqttURL, influxURL, db string) string {
	q := strconv.Quote
	return `# Written by bench/telegraf_test.go (BenchmarkTelegraf) for one stand.
[agent]
  interval = "10s"
  round_interval = false
  collection_jitter = "0s"
  flush_interval = "1s"
  flush_jitter = "0s"
  metric_batch_size = 5000
  metric_buffer_limit = 1000000
  omit_hostname = true

[[inputs.mqtt_consumer]]
  servers = [` + q(mqttURL) + `]
  topics = ["carebed/v1/+/telemetry"]
  topic_tag = ""
  qos = 1
  persistent_session = true
  client_id = ` + q(telegrafClientID) + `
  max_undelivered_messages = 10000
  data_format = "json_v2"

  [[inputs.mqtt_consumer.topic_parsing]]
    topic = "carebed/v1/+/telemetry"
    tags = "_/_/device/_"

  [[inputs.mqtt_consumer.json_v2]]
    measurement_name = "telemetry"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "seq"
      type = "int"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "ts"
      type = "int"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "battery"
      type = "float"
      optional = true
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "rssi"
      type = "float"
      optional = true
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "hr"
      type = "float"
      optional = true
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "rr"
      type = "float"
      optional = true
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "motion"
      type = "float"
      optional = true
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "temp_c"
      type = "float"
      optional = true
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "occupied"
      type = "bool"
      optional = true

[[outputs.influxdb]]
  urls = [` + q(influxURL) + `]
  database = ` + q(db) + `
  skip_database_creation = true
  timeout = "10s"
  ## The gateway writes uncompressed (influxdb-client-go's default); so does this.
  content_encoding = "identity"
`
}

// newTelegrafStand starts Mosquitto, InfluxDB and Telegraf, and returns once a probe
// reading published to Mosquitto has landed in InfluxDB through Telegraf.
func newTelegrafStand(b *testing.B, bin string) *telegrafStand {
	b.Helper()
	s := &telegrafStand{mq: devsvc.StartMosquitto(b), influx: devsvc.StartInflux(b)}
	s.devices = make([]string, devices)
	for i := range s.devices {
		s.devices[i] = fmt.Sprintf("bed-%05d", i+1)
	}
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "telegraf.conf")
	if err := os.WriteFile(cfgPath, []byte(telegrafConfig(s.mq.URL, s.influx.URL, s.influx.DB)), 0o600); err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(dir, "telegraf.log")
	logf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"--config", cfgPath}
	if os.Getenv("CAREBED_BENCH_CPUPROFILE") != "" {
		addr := freeAddr(b)
		s.pprofURL = "http://" + addr
		args = append(args, "--pprof-addr", addr)
	}
	s.tg = exec.Command(bin, args...)
	s.tg.Stdout, s.tg.Stderr = logf, logf
	if err := s.tg.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { s.tg.Wait(); close(exited) }() //nolint:errcheck // the exit is reported by the log
	b.Cleanup(func() {
		s.tg.Process.Signal(os.Interrupt) //nolint:errcheck // it may have exited
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			s.tg.Process.Kill() //nolint:errcheck // by its pid only
			<-exited
		}
		logf.Close()
		if b.Failed() {
			if log, err := os.ReadFile(logPath); err == nil {
				b.Logf("telegraf log (%s):\n%s", logPath, log)
			}
		}
	})
	s.probe(b, exited)
	return s
}

// probe publishes a reading of telegrafProbe, again every 3 s, until one is stored in
// InfluxDB (deadline 60 s), then logs the stored point.
func (s *telegrafStand) probe(b *testing.B, exited <-chan struct{}) {
	b.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(s.mq.URL).SetClientID("telegraf-probe"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("probe: connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	q := influxread.New(s.influx.URL, s.influx.DB, "")
	end := time.Now().Add(60 * time.Second)
	for seq := uint64(1); ; seq++ {
		topic, payload := fleet.Telemetry(telegrafProbe, seq, time.Now())
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("probe: publish: %v", tok.Error())
		}
		for next := time.Now().Add(3 * time.Second); time.Now().Before(next); time.Sleep(100 * time.Millisecond) {
			select {
			case <-exited:
				b.Fatalf("telegraf exited: %v", s.tg.ProcessState)
			default:
			}
			rows, err := q.Query(context.Background(), `SELECT * FROM telemetry WHERE device = '`+telegrafProbe+`' LIMIT 1`)
			if err == nil && len(rows) > 0 {
				// Let a probe published before this one, if Telegraf took it too, land
				// before the step's counts start (one flush interval).
				time.Sleep(1500 * time.Millisecond)
				b.Logf("telegraf is subscribed: probe %s stored as %v", payload, rows[0].Values)
				return
			}
		}
		if time.Now().After(end) {
			b.Fatal("telegraf did not store a probe reading within 60 s")
		}
	}
}

// written is InfluxDB's count of points it accepted over HTTP (httpd pointsWrittenOK):
// cheap to read, unlike a count over the data, so it can be polled while the step's
// messages land. It is what InfluxDB answered 204 for, as the gateway's
// carebed_influx_points_written_total.
func (s *telegrafStand) written(b *testing.B) int64 {
	b.Helper()
	rows, err := influxread.New(s.influx.URL, s.influx.DB, "").Query(context.Background(), `SHOW STATS FOR 'httpd'`)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, r := range rows {
		v, ok := r.Values["pointsWrittenOK"].(json.Number)
		if !ok {
			b.Fatalf("SHOW STATS FOR 'httpd': no pointsWrittenOK in %v", r.Values)
		}
		i, err := v.Int64()
		if err != nil {
			b.Fatal(err)
		}
		n += i
	}
	return n
}

// step offers rate for stepDuration, as stand.step does, and measures; written is the
// number of points InfluxDB accepted over the step, res.stored the number of the
// fleet's points in the database afterwards: fewer if points overwrote each other,
// more if a message reached Telegraf twice (QoS 1 redelivery: with receive-time
// timestamps a duplicate is a point of its own).
func (s *telegrafStand) step(b *testing.B, rate float64) (res result, written int64) {
	b.Helper()
	pid := s.tg.Process.Pid
	before := s.written(b)
	cpu0 := procCPU(b, pid)
	others0 := [3]time.Duration{procCPU(b, s.mq.Pid()), procCPU(b, s.influx.Pid()), selfCPU(b)}
	if path := os.Getenv("CAREBED_BENCH_CPUPROFILE"); path != "" {
		go profile(b, s.pprofURL, fmt.Sprintf("%s.telegraf.%.0f", path, rate), stepDuration/2)
	}
	f := fleet.New(fleet.Options{Broker: s.mq.URL, Devices: s.devices, Conns: conns, Rate: rate,
		Duration: stepDuration, MaxInflight: 5000, Linger: publisherLinger, ClientPrefix: fmt.Sprintf("bench-%.0f", rate)})
	rep, err := f.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	want := before + rep.Acked
	var landed time.Time
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if s.written(b) >= want {
			landed = time.Now()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu := procCPU(b, pid) - cpu0
	others := [3]time.Duration{procCPU(b, s.mq.Pid()) - others0[0], procCPU(b, s.influx.Pid()) - others0[1], selfCPU(b) - others0[2]}
	written = s.written(b) - before
	stored := s.stored(b)
	per1000 := func(d time.Duration) time.Duration {
		return time.Duration(float64(d) / float64(max(rep.Sent, 1)) * 1000)
	}
	res = result{offered: rate, achieved: rep.Rate(), sent: rep.Sent, stored: stored,
		lost: max(rep.Acked-stored, 0), cpuPer1000: per1000(cpu)}
	res.mosquittoPer1000, res.influxPer1000, res.publisherPer1000 = per1000(others[0]), per1000(others[1]), per1000(others[2])
	if landed.IsZero() {
		res.lag = time.Minute
	} else {
		res.lag = landed.Sub(rep.LastPublish)
	}
	if rep.Errors > 0 || rep.Unconfirmed > 0 {
		b.Logf("publisher: %d errors, %d unconfirmed (last error: %v)", rep.Errors, rep.Unconfirmed, rep.LastError)
	}
	return res, written
}

// stored counts the fleet's points in InfluxDB (the probe's are not counted; the
// stand is fresh, so they are the step's).
func (s *telegrafStand) stored(b *testing.B) int64 {
	b.Helper()
	return s.influx.Count(b, `SELECT count(seq) FROM telemetry WHERE device =~ /^bed-/`)
}
