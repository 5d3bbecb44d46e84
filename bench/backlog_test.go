package bench

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/fleet"
	"carebed/internal/devsvc"
)

// backlogMessages is how many messages BenchmarkBrokerBacklog queues.
var backlogMessages = int(envRates("CAREBED_BENCH_BACKLOG", []float64{1000000})[0])

// BenchmarkBrokerBacklog measures Mosquitto, configured as the project ships it
// (deploy/dev/run-mosquitto), holding the backlog of a gateway outage: the gateway's
// persistent session is offline, the publisher queues backlogMessages for it, and
// then a probe client publishes and receives one small message every 20 ms for 10 s
// while nothing else happens. Reported: the probe's round trips and Mosquitto's CPU
// meanwhile. The broker saves its whole in-memory database every autosave_interval
// (CAREBED_MOSQUITTO_AUTOSAVE sets it for a comparison), and it serves nobody while
// it saves: the round trips show how long that takes with the backlog.
func BenchmarkBrokerBacklog(b *testing.B) {
	for range b.N {
		mq := devsvc.StartMosquitto(b)
		offlineSession(b, mq.URL, "gateway-away")
		ids := make([]string, devices)
		for i := range ids {
			ids[i] = fmt.Sprintf("bed-%05d", i+1)
		}
		rate := 40000.0
		f := fleet.New(fleet.Options{Broker: mq.URL, Devices: ids, Conns: conns, Rate: rate,
			Duration:    time.Duration(float64(backlogMessages) / rate * float64(time.Second)),
			MaxInflight: 5000, Linger: publisherLinger, ClientPrefix: "backlog", Volatile: true})
		rep, err := f.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		cpu0, start := procCPU(b, mq.Pid()), time.Now()
		rtts := probe(b, mq.URL, 10*time.Second)
		cpu := procCPU(b, mq.Pid()) - cpu0
		share := cpu.Seconds() / time.Since(start).Seconds()
		p := func(q float64) time.Duration { return rtts[int(q*float64(len(rtts)-1))] }
		b.ReportMetric(float64(rep.Acked), "queued")
		b.ReportMetric(p(0.5).Seconds()*1000, "p50_ms")
		b.ReportMetric(p(0.99).Seconds()*1000, "p99_ms")
		b.ReportMetric(p(1).Seconds()*1000, "max_ms")
		b.ReportMetric(share*100, "mosquitto_cpu_%")
		b.Logf("backlog: %d messages queued for an offline session (%.0f msg/s published); then %d round trips: p50 %v, p99 %v, max %v; Mosquitto used %.0f %% of a core meanwhile",
			rep.Acked, rep.Rate(), len(rtts), p(0.5), p(0.99), p(1), share*100)
	}
}

// offlineSession creates a persistent session subscribed to the telemetry of every
// device, as the gateway's, and leaves it: the broker queues for it.
func offlineSession(b *testing.B, url, id string) {
	b.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect %s: %v", id, tok.Error())
	}
	if tok := c.Subscribe("carebed/v1/+/telemetry", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscribe %s: %v", id, tok.Error())
	}
	c.Disconnect(100)
}

// probe publishes a message to itself every 20 ms for d and returns the round trips,
// sorted.
func probe(b *testing.B, url string, d time.Duration) []time.Duration {
	b.Helper()
	got := make(chan struct{}, 1)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("probe").SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("probe connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	handler := func(mqtt.Client, mqtt.Message) { got <- struct{}{} }
	if tok := c.Subscribe("probe/rtt", 1, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("probe subscribe: %v", tok.Error())
	}
	var rtts []time.Duration
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		sent := time.Now()
		c.Publish("probe/rtt", 1, false, "x")
		select {
		case <-got:
			rtts = append(rtts, time.Since(sent))
		case <-time.After(30 * time.Second):
			b.Fatal("a probe message did not come back within 30 s")
		}
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	return rtts
}
