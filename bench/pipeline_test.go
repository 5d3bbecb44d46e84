// Package bench measures the whole path Mosquitto -> gateway -> InfluxDB on this
// machine at fixed offered rates. Run it with `make bench`; docs/performance.md
// explains the method and keeps the figures.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/firmware-sim/fleet"
	"carebed/internal/devsvc"
)

// rates are the offered rates (msg/s), each run for stepDuration.
var (
	rates        = envRates("CAREBED_BENCH_RATES", []float64{10000, 20000, 30000, 40000, 50000})
	stepDuration = envDuration("CAREBED_BENCH_STEP", 10*time.Second)
)

const (
	devices = 1000
	conns   = 8
	// lagLimit is how soon after the last publish the last message must land.
	lagLimit = 3 * time.Second
	// publisherLinger paces the publisher's connections as the gateway's are paced:
	// it shares the two cores, so it must cost as little as it can.
	publisherLinger = 500 * time.Microsecond
)

// BenchmarkPipeline offers each rate for stepDuration and reports, per rate, what
// landed, how late the last message landed, the gateway's CPU time per 1,000
// messages and its ingest latency quantiles.
func BenchmarkPipeline(b *testing.B) {
	for _, rate := range rates {
		b.Run(fmt.Sprintf("rate=%.0f", rate), func(b *testing.B) {
			for range b.N {
				s := newStand(b, "")
				res := s.step(b, rate)
				b.ReportMetric(res.offered, "offered_msg/s")
				b.ReportMetric(res.achieved, "sent_msg/s")
				b.ReportMetric(float64(res.lost), "lost")
				b.ReportMetric(res.lag.Seconds(), "lag_s")
				b.ReportMetric(res.cpuPer1000.Seconds()*1000, "cpu_ms/1000msg")
				b.ReportMetric(res.p50*1000, "p50_ms")
				b.ReportMetric(res.p99*1000, "p99_ms")
				keeps := res.lost == 0 && res.lag <= lagLimit
				b.ReportMetric(res.mosquittoPer1000.Seconds()*1000, "mosquitto_cpu_ms/1000msg")
				b.ReportMetric(res.influxPer1000.Seconds()*1000, "influxd_cpu_ms/1000msg")
				b.ReportMetric(res.publisherPer1000.Seconds()*1000, "publisher_cpu_ms/1000msg")
				b.Logf("offered %.0f msg/s: sent %d (%.0f msg/s), stored %d, lost %d, last landed %.2fs after last publish, gateway CPU %.2f ms/1000 msg, ingest p50 %.2f ms p99 %.2f ms, keeps up: %v; CPU ms/1000 msg of mosquitto %.1f, influxd %.1f, publisher %.1f",
					res.offered, res.sent, res.achieved, res.stored, res.lost, res.lag.Seconds(),
					res.cpuPer1000.Seconds()*1000, res.p50*1000, res.p99*1000, keeps,
					res.mosquittoPer1000.Seconds()*1000, res.influxPer1000.Seconds()*1000, res.publisherPer1000.Seconds()*1000)
			}
		})
	}
}

// stand is one measurement setup: real Mosquitto and InfluxDB, the gateway as its
// own process (so its CPU time is its own), and a registry of 1,000 devices.
type stand struct {
	mq      *devsvc.Mosquitto
	influx  *devsvc.Influx
	gw      *exec.Cmd
	gwDone  chan struct{} // closed when the gateway process has exited
	httpURL string
	devices []string
	// How to start the gateway again.
	bin, cfgPath, dir string
	env               []string
}

// newStand starts the stand; extraYAML is added to the gateway's configuration.
func newStand(b *testing.B, extraYAML string) *stand {
	b.Helper()
	s := &stand{mq: devsvc.StartMosquitto(b), influx: devsvc.StartInflux(b)}
	dir := b.TempDir()
	bin := filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-o", bin, "./gateway/cmd/gateway")
	build.Dir = devsvc.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	ledger := filepath.Join(dir, "ledger.csv")
	s.devices = writeLedger(b, ledger, devices)
	addr := freeAddr(b)
	s.httpURL = "http://" + addr
	env := append(os.Environ(), "CAREBED_MQTT_URL="+s.mq.URL, "CAREBED_INFLUX_URL="+s.influx.URL,
		"CAREBED_INFLUX_BUCKET="+s.influx.Bucket, "CAREBED_HTTP_ADDR="+addr,
		"CAREBED_DATA_DIR="+filepath.Join(dir, "data"), "CAREBED_EMBEDDED_BROKER_ADDR=")
	// CAREBED_BENCH_GATEWAY_ENV adds variables for the gateway process only, e.g.
	// "GOGC=1000 GOMAXPROCS=1", to try runtime settings without touching the others.
	env = append(env, strings.Fields(os.Getenv("CAREBED_BENCH_GATEWAY_ENV"))...)
	cfgPath := filepath.Join(dir, "gateway.yml")
	// CAREBED_BENCH_GATEWAY_YAML adds to the gateway's configuration, e.g.
	// "spool: {sync_interval: 20ms}", to compare settings in interleaved runs.
	extraYAML += "\n" + os.Getenv("CAREBED_BENCH_GATEWAY_YAML") + "\n"
	if err := os.WriteFile(cfgPath, []byte("http:\n  pprof: true\n"+extraYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	imp := exec.Command(bin, "registry", "import", ledger)
	imp.Env = env
	if out, err := imp.CombinedOutput(); err != nil {
		b.Fatalf("registry import: %v\n%s", err, out)
	}
	s.bin, s.cfgPath, s.env, s.dir = bin, cfgPath, env, dir
	s.startGateway(b)
	b.Cleanup(func() { s.stopGateway() })
	return s
}

// startGateway starts the gateway process and waits until it is ready.
func (s *stand) startGateway(b *testing.B) {
	b.Helper()
	s.gw = exec.Command(s.bin, "run", "-config", s.cfgPath)
	s.gw.Env = s.env
	logf, err := os.OpenFile(filepath.Join(s.dir, "gateway.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	s.gw.Stdout, s.gw.Stderr = logf, logf
	if err := s.gw.Start(); err != nil {
		b.Fatal(err)
	}
	s.gwDone = make(chan struct{})
	go func() { s.gw.Wait(); logf.Close(); close(s.gwDone) }() //nolint:errcheck // the log tells
	waitUntil(b, 30*time.Second, "gateway ready", func() bool { return httpOK(s.httpURL + "/readyz") })
}

// stopGateway stops the gateway as an operator does (SIGINT: it finishes and
// disconnects) and waits for it to exit.
func (s *stand) stopGateway() {
	if s.gw == nil {
		return
	}
	s.gw.Process.Signal(os.Interrupt) //nolint:errcheck // it may have exited
	<-s.gwDone
	s.gw = nil
}

type result struct {
	offered, achieved  float64
	sent, stored, lost int64
	lag, cpuPer1000    time.Duration
	p50, p99           float64
	// CPU per 1,000 messages of the other processes sharing the two cores.
	mosquittoPer1000, influxPer1000, publisherPer1000 time.Duration
}

// step offers rate for stepDuration and measures.
func (s *stand) step(b *testing.B, rate float64) result {
	b.Helper()
	before := s.scrape(b)
	cpu0 := procCPU(b, s.gw.Process.Pid)
	others0 := [3]time.Duration{procCPU(b, s.mq.Pid()), procCPU(b, s.influx.Pid()), selfCPU(b)}
	f := fleet.New(fleet.Options{Broker: s.mq.URL, Devices: s.devices, Conns: conns, Rate: rate,
		Duration: stepDuration, MaxInflight: 5000, Linger: publisherLinger, ClientPrefix: fmt.Sprintf("bench-%.0f", rate)})
	if path := os.Getenv("CAREBED_BENCH_CPUPROFILE"); path != "" {
		go s.profile(b, fmt.Sprintf("%s.%.0f", path, rate), stepDuration/2)
	}
	rep, err := f.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	landed := s.waitLanded(b, before[pointsWritten]+float64(rep.Acked), 60*time.Second)
	after := s.scrape(b)
	cpu := procCPU(b, s.gw.Process.Pid) - cpu0
	others := [3]time.Duration{procCPU(b, s.mq.Pid()) - others0[0], procCPU(b, s.influx.Pid()) - others0[1], selfCPU(b) - others0[2]}
	stored := int64(after[pointsWritten] - before[pointsWritten])
	r := result{offered: rate, achieved: rep.Rate(), sent: rep.Sent, stored: stored,
		lost: rep.Acked - stored, cpuPer1000: time.Duration(float64(cpu) / float64(max(rep.Sent, 1)) * 1000)}
	per1000 := func(d time.Duration) time.Duration {
		return time.Duration(float64(d) / float64(max(rep.Sent, 1)) * 1000)
	}
	r.mosquittoPer1000, r.influxPer1000, r.publisherPer1000 = per1000(others[0]), per1000(others[1]), per1000(others[2])
	if r.lost < 0 {
		r.lost = 0
	}
	if landed.IsZero() {
		r.lag = time.Minute
	} else {
		r.lag = landed.Sub(rep.LastPublish)
	}
	r.p50 = quantile(before, after, 0.50)
	r.p99 = quantile(before, after, 0.99)
	return r
}

// pointsWritten counts the points InfluxDB accepted (answered 204 for).
const pointsWritten = "carebed_influx_points_written_total"

// waitLanded waits, up to limit, until InfluxDB has accepted want points in all, and
// returns when it saw that (zero if it did not). Each scrape is also shown to the
// watchers.
func (s *stand) waitLanded(b *testing.B, want float64, limit time.Duration, watch ...func(map[string]float64)) time.Time {
	b.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		m := s.scrape(b)
		for _, w := range watch {
			w(m)
		}
		if m[pointsWritten] >= want {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}
}

// profile saves the gateway's CPU profile over d, and the allocations over the same
// time to path.allocs, from its /debug/pprof endpoint.
func (s *stand) profile(b *testing.B, path string, d time.Duration) {
	profile(b, s.httpURL, path, d)
}

// profile saves the CPU profile over d, and the allocations to path.allocs, of the
// process serving Go's /debug/pprof at baseURL.
func profile(b *testing.B, baseURL, path string, d time.Duration) {
	go fetch(b, fmt.Sprintf("%s/debug/pprof/allocs?seconds=%d", baseURL, int(d.Seconds())), path+".allocs")
	fetch(b, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", baseURL, int(d.Seconds())), path)
}

func fetch(b *testing.B, url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Log(err)
		return
	}
	defer resp.Body.Close()
	out, err := os.Create(path)
	if err != nil {
		b.Log(err)
		return
	}
	defer out.Close()
	io.Copy(out, resp.Body) //nolint:errcheck // best effort
}

// scrape reads the gateway's metrics into name{labels} -> value.
func (s *stand) scrape(b *testing.B) map[string]float64 {
	b.Helper()
	resp, err := http.Get(s.httpURL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// quantile estimates a quantile of carebed_ingest_latency_seconds between two
// scrapes, interpolating linearly inside the bucket as Prometheus does.
func quantile(before, after map[string]float64, q float64) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	const prefix = `carebed_ingest_latency_seconds_bucket{le="`
	for k, v := range after {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(k[len(prefix):], `"}`), 64)
		if err != nil {
			le = math.Inf(1)
		}
		bs = append(bs, bucket{le, v - before[k]})
	}
	if len(bs) == 0 {
		return math.NaN()
	}
	sortBuckets(bs, func(a, b bucket) bool { return a.le < b.le })
	total := bs[len(bs)-1].n
	rank, prevLe, prevN := q*total, 0.0, 0.0
	for _, bk := range bs {
		if bk.n >= rank {
			if math.IsInf(bk.le, 1) {
				return prevLe
			}
			if bk.n == prevN {
				return bk.le
			}
			return prevLe + (bk.le-prevLe)*(rank-prevN)/(bk.n-prevN)
		}
		prevLe, prevN = bk.le, bk.n
	}
	return prevLe
}
