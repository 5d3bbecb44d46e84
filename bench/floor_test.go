package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/fleet"
	"carebed/gateway/ingest"
	"carebed/gateway/protocol/mqttconn"
	"carebed/internal/devsvc"
)

// floorChildEnv, when set, makes the test binary a bare subscriber (see TestMain).
const floorChildEnv = "CAREBED_BENCH_FLOOR_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(floorChildEnv); mode != "" {
		os.Exit(floorChild(mode, os.Getenv("CAREBED_BENCH_FLOOR_BROKER")))
	}
	if os.Getenv(twilioChildEnv) != "" {
		os.Exit(twilioChild())
	}
	if os.Getenv(liveChildEnv) != "" {
		os.Exit(liveChild())
	}
	os.Exit(m.Run())
}

// floorModes are the bare subscribers BenchmarkPahoFloor measures:
//
//   - paho: paho as it comes, persistent session, QoS 1, paho acknowledging each
//     message when the handler returns;
//   - gateway-client: paho configured as the gateway's subscriber is (buffered
//     connection with coalesced writes, no session store, ordered, manual
//     acknowledgement), acknowledging each message at once.
var floorModes = []string{"paho", "gateway-client"}

// BenchmarkPahoFloor measures what the MQTT client alone costs per message: a
// subscriber that does nothing but receive and acknowledge, in its own process, fed
// by the same publisher and Mosquitto as BenchmarkPipeline. The gateway's CPU per
// message cannot go below this floor while it uses paho.
func BenchmarkPahoFloor(b *testing.B) {
	for _, mode := range floorModes {
		for _, rate := range rates {
			b.Run(fmt.Sprintf("client=%s/rate=%.0f", mode, rate), func(b *testing.B) {
				for range b.N {
					floorStep(b, mode, rate)
				}
			})
		}
	}
}

func floorStep(b *testing.B, mode string, rate float64) {
	mq := devsvc.StartMosquitto(b)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), floorChildEnv+"="+mode, "CAREBED_BENCH_FLOOR_BROKER="+mq.URL)
	out, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { child.Process.Signal(os.Interrupt); child.Wait() }) //nolint:errcheck // ends the child
	var received atomic.Int64
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
				continue
			}
			if n, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				received.Store(n)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		b.Fatal("the bare subscriber did not subscribe within 30 s")
	}
	devs := make([]string, devices)
	for i := range devs {
		devs[i] = fmt.Sprintf("bed-%05d", i+1)
	}
	cpu0 := procCPU(b, child.Process.Pid)
	f := fleet.New(fleet.Options{Broker: mq.URL, Devices: devs, Conns: conns, Rate: rate,
		Duration: stepDuration, MaxInflight: 5000, Linger: publisherLinger, ClientPrefix: fmt.Sprintf("floor-%.0f", rate)})
	rep, err := f.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	waitUntil(b, 60*time.Second, "every message at the bare subscriber", func() bool { return received.Load() >= rep.Acked })
	lag := time.Since(rep.LastPublish)
	cpu := procCPU(b, child.Process.Pid) - cpu0
	per1000 := float64(cpu) / float64(max(rep.Sent, 1)) * 1000 / float64(time.Millisecond)
	b.ReportMetric(rate, "offered_msg/s")
	b.ReportMetric(rep.Rate(), "sent_msg/s")
	b.ReportMetric(per1000, "cpu_ms/1000msg")
	b.Logf("%s: offered %.0f msg/s, sent %d (%.0f msg/s), received %d within %.2fs of the last publish; CPU %.2f ms/1000 msg",
		mode, rate, rep.Sent, rep.Rate(), received.Load(), lag.Seconds(), per1000)
}

// floorChild runs a bare subscriber until killed: it prints "ready" once subscribed,
// then the number of messages received every 50 ms.
func floorChild(mode, broker string) int {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400) // as `gateway run` does with an external broker
	}
	var n atomic.Int64
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID("floor-" + mode).
		SetCleanSession(false).SetKeepAlive(30 * time.Second).SetOrderMatters(true)
	switch mode {
	case "paho":
		o.SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) { n.Add(1) })
	case "gateway-client":
		o.SetAutoAckDisabled(true).SetStore(mqttconn.NopStore{}).SetCustomOpenConnectionFn(mqttconn.Dialer(mqttconn.Options{Linger: ingest.DefaultLinger})).
			SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { m.Ack(); n.Add(1) })
	default:
		fmt.Fprintln(os.Stderr, "unknown floor mode", mode)
		return 2
	}
	c := mqtt.NewClient(o)
	if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		fmt.Fprintln(os.Stderr, "connect:", t.Error())
		return 1
	}
	if t := c.Subscribe("carebed/v1/+/telemetry", 1, nil); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		fmt.Fprintln(os.Stderr, "subscribe:", t.Error())
		return 1
	}
	if path := os.Getenv("CAREBED_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path + ".floor-" + mode)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	fmt.Println("ready")
	tick := time.NewTicker(50 * time.Millisecond)
	for {
		select {
		case <-tick.C:
			fmt.Println(n.Load())
		case <-stop:
			return 0
		}
	}
}
