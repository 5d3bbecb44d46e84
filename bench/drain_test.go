package bench

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"carebed/firmware-sim/fleet"
)

// drainMessages is how many messages BenchmarkDrain queues in Mosquitto, and
// drainRuns how many times it drains them, each time on a fresh stand (the machine's
// speed varies between runs; the median is reported).
var (
	drainMessages = int(envRates("CAREBED_BENCH_DRAIN", []float64{400000})[0])
	drainRuns     = int(envRates("CAREBED_BENCH_DRAIN_RUNS", []float64{5})[0])
)

// storedTelemetry counts telemetry messages the gateway has taken durably (in the
// spool, so acknowledged).
const storedTelemetry = `carebed_ingest_messages_total{kind="telemetry",result="stored"}`

// BenchmarkDrain measures the gateway's own capacity, which the live benchmark cannot
// show on two cores: there the publisher, Mosquitto and InfluxDB take most of the CPU
// before the gateway gets any. Here the gateway is stopped (Mosquitto keeps its
// persistent session), the publisher queues drainMessages in Mosquitto and stops,
// and then the gateway starts and takes the backlog as fast as Mosquitto sends it.
// Reported: how fast the gateway took the backlog (from its start until every
// message was durably in the spool and acknowledged; the time to start is included),
// when the last landed in InfluxDB, and the CPU per 1,000 messages of the gateway
// (its whole life, start-up included), Mosquitto and InfluxDB until then. It is also
// what happens after a gateway restart.
func BenchmarkDrain(b *testing.B) {
	for range b.N {
		var rates, cpus []float64
		for range drainRuns {
			r := drainOnce(b)
			rates, cpus = append(rates, r.taken), append(cpus, r.cpu)
		}
		b.ReportMetric(float64(drainMessages), "queued")
		b.ReportMetric(median(rates), "drained_msg/s")
		b.ReportMetric(median(cpus), "cpu_ms/1000msg")
	}
}

type drainResult struct{ taken, cpu float64 }

func drainOnce(b *testing.B) drainResult {
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
	var taken time.Time
	landed := s.waitLanded(b, float64(rep.Acked), 5*time.Minute, func(m map[string]float64) {
		if taken.IsZero() && m[storedTelemetry] >= float64(rep.Acked) {
			taken = time.Now()
		}
	})
	if landed.IsZero() {
		b.Fatalf("%d acknowledged messages did not all land within 5 minutes: %v stored", rep.Acked, s.scrape(b)[pointsWritten])
	}
	if taken.IsZero() {
		taken = landed
	}
	gw := procCPU(b, s.gw.Process.Pid)
	mq, influx := procCPU(b, s.mq.Pid())-mq0, procCPU(b, s.influx.Pid())-influx0
	per1000 := func(d time.Duration) float64 {
		return float64(d) / float64(rep.Acked) * 1000 / float64(time.Millisecond)
	}
	r := drainResult{taken: float64(rep.Acked) / taken.Sub(start).Seconds(), cpu: per1000(gw)}
	b.Logf("drain: %d messages queued in Mosquitto (%.0f msg/s published); the gateway took them in %.2fs after it started (%.0f msg/s), the last landed in InfluxDB at %.2fs; CPU ms/1000 msg of the gateway %.2f, mosquitto %.1f, influxd %.1f",
		rep.Acked, rep.Rate(), taken.Sub(start).Seconds(), r.taken, landed.Sub(start).Seconds(), r.cpu, per1000(mq), per1000(influx))
	s.stopGateway()
	return r
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
