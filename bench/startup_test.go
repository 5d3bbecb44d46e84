package bench

import (
	"strconv"
	"strings"
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

// BenchmarkStartAtScale measures issue 20's "start to ready under 5 s" at the size
// it names, without the connections (which need a larger open-file limit than the
// registry does): CAREBED_START_DEVICES devices (default 100,000, three a home)
// imported and provisioned, then the gateway's first start (its stores created),
// startRuns restarts (as after an upgrade), each from exec to /readyz 200, the CPU
// it used by then, and its RSS once ready and after a registry refresh with nothing
// connected: what the registry alone costs before any device connects; with
// Mosquitto also its start with the exported passwd and acl files. Brokers as
// BenchmarkConnections (CAREBED_CONN_BROKERS).
func BenchmarkStartAtScale(b *testing.B) {
	n := int(envRates("CAREBED_START_DEVICES", []float64{100000})[0])
	for _, broker := range strings.Split(envString("CAREBED_CONN_BROKERS", "embedded,mosquitto"), ",") {
		b.Run("broker="+broker, func(b *testing.B) {
			for range b.N {
				startAtScale(b, broker, n)
			}
		})
	}
}

func startAtScale(b *testing.B, broker string, n int) {
	s := newSite(b, broker, n, false, "registry:\n  refresh: 5s\n")
	first, firstCPU := s.ready, procCPU(b, s.gw.Process.Pid)
	var times, cpus []float64
	var rssReady, rssRefreshed int64
	for range startRuns {
		s.stopGateway()
		began := time.Now()
		s.startGateway(b)
		times = append(times, time.Since(began).Seconds())
		cpus = append(cpus, float64(procCPU(b, s.gw.Process.Pid))/float64(time.Millisecond))
		rssReady = max(rssReady, procStatusKB(s.gw.Process.Pid, "VmRSS"))
	}
	time.Sleep(12 * time.Second) // two refreshes with nothing changed: the first writes the home measurement
	rssRefreshed = procStatusKB(s.gw.Process.Pid, "VmRSS")
	b.ReportMetric(median(times), "start_to_ready_s")
	b.ReportMetric(median(cpus), "cpu_ms_at_ready")
	b.ReportMetric(mib(rssRefreshed), "rss_MiB")
	if !s.embedded {
		b.ReportMetric(s.brokerReady.Seconds(), "mosquitto_start_s")
	}
	b.Logf("%d devices registered: first start to ready %v (CPU %v); restarts to ready %.2f s (median of %v), CPU at ready %v ms; "+
		"RSS at ready up to %.0f MiB, %.0f MiB after the registry refreshes; Mosquitto with the exported files listening after %v",
		len(s.rows), first.Round(time.Millisecond), firstCPU, median(times), fmtFloats(times), fmtFloats(cpus),
		mib(rssReady), mib(rssRefreshed), s.brokerReady.Round(time.Millisecond))
}

// fmtFloats prints v with two decimals.
func fmtFloats(v []float64) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return "[" + strings.Join(out, " ") + "]"
}
