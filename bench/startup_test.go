package bench

import (
	"testing"
	"time"
)

// startRuns is how many times BenchmarkGatewayStart starts the gateway.
var startRuns = int(envRates("CAREBED_BENCH_START_RUNS", []float64{5})[0])

// BenchmarkGatewayStart measures what a start costs: the CPU the gateway process
// has used when /readyz first answers 200 (registry of 1,000 devices loaded, stores
// opened, broker session up), median of startRuns starts on one stand. A restart
// after an upgrade or a crash pays it, and BenchmarkDrain counts it in.
func BenchmarkGatewayStart(b *testing.B) {
	for range b.N {
		s := newStand(b, "")
		var cpus []float64
		for range startRuns {
			s.stopGateway()
			s.startGateway(b) // returns once /readyz answers 200
			cpus = append(cpus, float64(procCPU(b, s.gw.Process.Pid))/float64(time.Millisecond))
		}
		b.ReportMetric(median(cpus), "cpu_ms_at_ready")
		b.Logf("gateway start: CPU at ready %v ms (median %.0f)", cpus, median(cpus))
	}
}
