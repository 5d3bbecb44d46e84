package bench

import (
	"testing"
	"time"

	"carebed/internal/devsvc"
)

// pairRate is the offered rate of BenchmarkPairAcknowledgement: a county's real
// rate is a few hundred msg/s per gateway pair.
var pairRate = envRates("CAREBED_PAIR_RATE", []float64{300})[0]

// BenchmarkPairAcknowledgement measures what the pair mode's acknowledgement costs:
// with pair.enabled the gateway acknowledges a reading only once it is in InfluxDB,
// not once it is in the local spool. Each mode on a stand of its own (Mosquitto,
// InfluxDB 1.8, the gateway as its own process, one PostgreSQL database each, the
// alert store in it in every mode): the gateway's CPU per 1,000 messages and its
// receipt-to-acknowledgement latency (carebed_ingest_latency_seconds) at
// CAREBED_PAIR_RATE (default 300 msg/s) for CAREBED_BENCH_STEP.
func BenchmarkPairAcknowledgement(b *testing.B) {
	pg := devsvc.StartPostgres(b)
	const pair = "pair:\n  enabled: true\n  holder: bench\n"
	for _, mode := range []struct{ name, yaml string }{
		{"spool", ""}, // one gateway alone: acknowledged after the local spool
		{"pair", pair},
		{"pair_flush200ms", pair + "influx:\n  flush_interval: 200ms\n"},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				s := newStand(b, "database:\n  url: "+pg.NewDatabase(b)+"\n"+mode.yaml)
				res := s.step(b, pairRate)
				if res.lost > 0 {
					b.Errorf("%d messages acknowledged and not in InfluxDB", res.lost)
				}
				b.ReportMetric(res.cpuPer1000.Seconds()*1000, "cpu_ms/1000msg")
				b.ReportMetric(res.p50*1000, "ack_p50_ms")
				b.ReportMetric(res.p99*1000, "ack_p99_ms")
				b.Logf("%s at %.0f msg/s for %v: sent %d, stored %d, gateway CPU %.1f ms/1000 msg, receipt to acknowledgement p50 %.1f ms p99 %.1f ms",
					mode.name, pairRate, stepDuration.Round(time.Second), res.sent, res.stored,
					res.cpuPer1000.Seconds()*1000, res.p50*1000, res.p99*1000)
			}
		})
	}
}
