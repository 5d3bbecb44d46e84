package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"carebed/firmware-sim/fleet"
)

// drainMessages is how many messages BenchmarkDrain queues in Mosquitto.
var drainMessages = int(envRates("CAREBED_BENCH_DRAIN", []float64{400000})[0])

// BenchmarkDrain measures the gateway's own capacity, which the live benchmark cannot
// show on two cores: there the publisher, Mosquitto and InfluxDB take most of the CPU
// before the gateway gets any. Here the gateway is stopped (Mosquitto keeps its
// persistent session), the publisher queues drainMessages in Mosquitto and stops,
// and then the gateway starts and takes the backlog as fast as Mosquitto sends it:
// the drain rate, and the CPU per 1,000 messages of the gateway, Mosquitto and
// InfluxDB while it lasts. It is also what happens after a gateway restart.
func BenchmarkDrain(b *testing.B) {
	for range b.N {
		s := newStand(b, "")
		s.stopGateway() // its session stays in Mosquitto, which now queues for it
		rate := 40000.0
		f := fleet.New(fleet.Options{Broker: s.mq.URL, Devices: s.devices, Conns: conns, Rate: rate,
			Duration:    time.Duration(float64(drainMessages) / rate * float64(time.Second)),
			MaxInflight: 5000, Linger: publisherLinger, ClientPrefix: "drain"})
		rep, err := f.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		mq0, influx0 := procCPU(b, s.mq.Pid()), procCPU(b, s.influx.Pid())
		start := time.Now()
		s.startGateway(b)
		if path := os.Getenv("CAREBED_BENCH_CPUPROFILE"); path != "" {
			go s.profile(b, path+".drain", 5*time.Second)
		}
		landed := s.waitLanded(b, float64(rep.Acked), 5*time.Minute)
		if landed.IsZero() {
			b.Fatalf("%d acknowledged messages did not all land within 5 minutes: %v stored", rep.Acked, s.scrape(b)[pointsWritten])
		}
		gw := procCPU(b, s.gw.Process.Pid) // the whole life of the process: start-up included
		mq, influx := procCPU(b, s.mq.Pid())-mq0, procCPU(b, s.influx.Pid())-influx0
		elapsed := landed.Sub(start)
		per1000 := func(d time.Duration) float64 {
			return float64(d) / float64(rep.Acked) * 1000 / float64(time.Millisecond)
		}
		drainRate := float64(rep.Acked) / elapsed.Seconds()
		b.ReportMetric(float64(rep.Acked), "queued")
		b.ReportMetric(drainRate, "drained_msg/s")
		b.ReportMetric(per1000(gw), "cpu_ms/1000msg")
		b.ReportMetric(per1000(mq), "mosquitto_cpu_ms/1000msg")
		b.ReportMetric(per1000(influx), "influxd_cpu_ms/1000msg")
		b.Logf("drain: %d messages queued in Mosquitto (%.0f msg/s published), all landed %.2fs after the gateway started: %.0f msg/s; CPU ms/1000 msg of the gateway %.2f, mosquitto %.1f, influxd %.1f",
			rep.Acked, rep.Rate(), elapsed.Seconds(), drainRate, per1000(gw), per1000(mq), per1000(influx))
	}
}
