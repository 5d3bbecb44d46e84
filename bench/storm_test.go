package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/population"
	"carebed/firmware-sim/swarm"
)

// The storm's shape (docs/performance.md, "A township comes back"); make
// bench-storm sets them from its variables.
var (
	stormDevices = int(envRates("CAREBED_STORM_DEVICES", []float64{20000})[0])
	stormLive    = int(envRates("CAREBED_STORM_LIVE", []float64{200})[0])
	stormRuns    = int(envRates("CAREBED_STORM_RUNS", []float64{3})[0])
	stormSOS     = int(envRates("CAREBED_STORM_SOS", []float64{3})[0])
	stormGap     = envDuration("CAREBED_STORM_GAP", 30*time.Minute)
	stormSpread  = envDuration("CAREBED_STORM_SPREAD", 10*time.Second)
	// stormEvery, when set, replaces every kind's reading interval (the ledger's
	// heartbeat: pendants and fall sensors 5 min, bed sensors 1 min).
	stormEvery = envDuration("CAREBED_STORM_EVERY", 0)
)

// stormBackoff is the devices' reconnection pacing: a random wait up to 0.5 s, 1 s,
// 2 s, ... 30 s after each failed attempt.
var stormBackoff = swarm.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}

// BenchmarkStorm: a township's devices lose their link for stormGap, then come back
// within stormSpread and replay what they kept as batches, while stormLive devices
// keep sending live and elders press SOS in the middle of the storm; stormRuns
// times on one stand, with Mosquitto and with the embedded broker
// (CAREBED_STORM_BROKERS=mosquitto,embedded; haproxy: Mosquitto behind HAProxy,
// devices on TLS).
func BenchmarkStorm(b *testing.B) {
	for _, broker := range strings.Split(envString("CAREBED_STORM_BROKERS", "mosquitto,embedded"), ",") {
		b.Run("broker="+broker, func(b *testing.B) {
			for range b.N {
				runStorms(b, broker)
			}
		})
	}
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// stormDevice is one simulated device with its ledger row.
type stormDevice struct {
	*swarm.Device
	row ledgerRow
}

// newStormDevice makes the firmware model of row's kind, switched on at start.
func newStormDevice(row ledgerRow, password string, start time.Time) *stormDevice {
	every := stormEvery
	if every <= 0 {
		for _, k := range population.Kinds {
			if k.Kind == row.kind {
				every = time.Duration(k.Heartbeat) * time.Second
			}
		}
	}
	c := device.Config{ID: row.device, Kind: row.kind, Start: start, Every: every, KeepReadings: 10_000}
	var m device.Model
	switch row.kind {
	case "sos_pendant":
		m = device.NewPendant(c, 0)
	case "bed_sensor":
		m = device.NewBed(c, device.BedConfig{})
	default:
		m = device.NewAlarm(c)
	}
	return &stormDevice{Device: &swarm.Device{Model: m, Password: password}, row: row}
}

func runStorms(b *testing.B, broker string) {
	total := stormDevices + stormLive
	// The broker holds a descriptor for each device (the gateway's process too, with
	// the embedded broker), the load generator one for each storm device (the live
	// ones are in a process of their own); a few hundred more for the rest.
	raiseFileLimit(b, uint64(total)+512)
	s := newSite(b, broker, total, true, "")
	// The storm devices live in simulated time that ends before now: each storm's
	// gap is generated at once (Tick), with the device time of those readings.
	simStart := time.Now().Add(-time.Duration(stormRuns+1) * stormGap)
	var storm []*stormDevice
	for _, row := range s.rows[:stormDevices] {
		storm = append(storm, newStormDevice(row, s.passwords[row.device], simStart))
	}
	var liveRows []liveRow
	var pendants []ledgerRow
	for _, row := range s.rows[stormDevices:total] {
		liveRows = append(liveRows, liveRow{Device: row.device, Kind: row.kind, Family: row.family, Password: s.passwords[row.device]})
		if row.kind == "sos_pendant" {
			pendants = append(pendants, row)
		}
	}
	if need := stormRuns * stormSOS; need > len(pendants) {
		b.Fatalf("%d SOS presses need as many live pendants; there are %d (CAREBED_STORM_LIVE)", need, len(pendants))
	}
	began := time.Now()
	live := startLive(b, s.dir, s.brokerAddr, s.caFile, liveRows) // their own process: they keep reporting, and press SOS
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := swarm.New(swarm.Options{Broker: s.brokerAddr, TLS: s.deviceTLS, Sources: sources(total), KeepAlive: 60 * time.Second,
		Backoff: stormBackoff})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Close)
	setupCtx, setupDone := context.WithTimeout(ctx, 10*time.Minute)
	rep := swarm.Storm(setupCtx, d, swarmDevices(storm), min(30*time.Second, time.Duration(total)*time.Millisecond), func() time.Time { return simStart })
	setupDone()
	if rep.Failed > 0 {
		b.Fatalf("connecting the devices: %+v", rep)
	}
	b.Logf("%d devices connected in %v (%d live in their own process; the storm's %d attempts, %d refused by the broker)", total,
		time.Since(began).Round(time.Millisecond), len(liveRows), d.Stats().Attempts, d.Stats().Refused)

	var lat []time.Duration
	var backlog []time.Duration
	cpu0 := [3]time.Duration{procCPU(b, s.gw.Process.Pid), procCPU(b, s.brokerPid()), s.frontCPU(b)}
	dup0 := s.scrape(b)[`carebed_ingest_messages_total{kind="telemetry",result="duplicate"}`]
	for run := range stormRuns {
		simEnd := simStart.Add(time.Duration(run+1) * stormGap)
		var want int64
		for _, dv := range storm {
			dv.Cut()
			dv.Model.Tick(simEnd)
			want += int64(dv.Model.Core().Stats().KeptReadings)
		}
		time.Sleep(2 * time.Second) // the Last Wills are taken in
		attempts0, m0 := d.Stats(), s.scrape(b)
		stormCPU0 := [4]time.Duration{procCPU(b, s.gw.Process.Pid), procCPU(b, s.brokerPid()), procCPU(b, s.influx.Pid()), s.frontCPU(b)}
		sos := pendants[run*stormSOS : (run+1)*stormSOS]
		sent := map[string]time.Time{}
		pressed := map[string]time.Time{} // device -> publish time, for the stages
		phones := map[string]string{}     // device -> its family's phone
		var sentMu sync.Mutex
		t0 := time.Now()
		profiled := make(chan struct{})
		go func() { // where the gateway's CPU goes in the storm's first 20 s
			defer close(profiled)
			if path := os.Getenv("CAREBED_BENCH_CPUPROFILE"); path != "" {
				fetch(b, s.httpURL+"/debug/pprof/profile?seconds=20", fmt.Sprintf("%s.storm%d", path, run+1))
			}
		}()
		go func() {
			time.Sleep(stormSpread / 2)
			for _, p := range sos {
				at := live.press(b, p.device)
				sentMu.Lock()
				sent["+86"+p.family] = at
				pressed[p.device] = at
				phones[p.device] = "+86" + p.family
				sentMu.Unlock()
				time.Sleep(time.Second)
			}
		}()
		rep := swarm.Storm(ctx, d, swarmDevices(storm), stormSpread, func() time.Time { return simEnd })
		if rep.Failed > 0 {
			b.Fatalf("storm %d: %+v", run+1, rep)
		}
		replayed := rep.Last.Sub(t0)
		q := fmt.Sprintf("SELECT count(seq) FROM telemetry WHERE time > %d AND time <= %d", simEnd.Add(-stormGap).UnixNano(), simEnd.UnixNano())
		var got int64
		waitUntil(b, 10*time.Minute, fmt.Sprintf("storm %d's %d readings in InfluxDB", run+1, want), func() bool {
			got = s.influxCount(b, q)[""]
			return got >= want
		})
		stored := time.Since(t0)
		waitUntil(b, time.Minute, "an SMS for every SOS", func() bool {
			sentMu.Lock()
			defer sentMu.Unlock()
			return len(sent) == len(sos) && s.sms.arrivals(b).count(sent) == len(sent)
		})
		<-profiled
		if path := os.Getenv("CAREBED_BENCH_HEAPPROFILE"); path != "" { // what a storm leaves behind
			fetch(b, s.httpURL+"/debug/pprof/heap", fmt.Sprintf("%s.storm%d", path, run+1))
			fetch(b, s.httpURL+"/debug/pprof/goroutine?debug=1", fmt.Sprintf("%s.storm%d.goroutines.txt", path, run+1))
		}
		sentMu.Lock()
		arr := s.sms.arrivals(b)
		l := arr.latencies(sent)
		var stages []sosStage
		for device, st := range sosStages(b, filepath.Join(s.dir, "gateway.log"), pressed) {
			st.sms = arr.first(phones[device]).Sub(st.at).Round(time.Millisecond)
			stages = append(stages, *st)
		}
		slices.SortFunc(stages, func(x, y sosStage) int { return x.at.Compare(y.at) })
		sentMu.Unlock()
		lat = append(lat, l...)
		backlog = append(backlog, stored)
		st := d.Stats()
		b.Logf("storm %d: %d devices replayed %d readings (%d kept) in %v, all in InfluxDB after %v (counted %d); "+
			"CPU gateway %v, broker %v, influxd %v; connect attempts %d, refused %d, failed %d (%d for want of a local port; the embedded broker's refusals: %s); SOS to SMS %v (from the publish: %v); peak RSS gateway %.0f MiB, broker %.0f MiB, load generator %.0f MiB%s",
			run+1, rep.Up, rep.Readings, want, replayed.Round(time.Millisecond), stored.Round(time.Millisecond), got,
			(procCPU(b, s.gw.Process.Pid) - stormCPU0[0]).Round(10*time.Millisecond),
			(procCPU(b, s.brokerPid()) - stormCPU0[1]).Round(10*time.Millisecond),
			(procCPU(b, s.influx.Pid()) - stormCPU0[2]).Round(10*time.Millisecond),
			st.Attempts-attempts0.Attempts, st.Refused-attempts0.Refused, st.Failed-attempts0.Failed, st.NoPort-attempts0.NoPort,
			refusals(m0, s.scrape(b)), l, stages,
			mib(procStatusKB(s.gw.Process.Pid, "VmHWM")), mib(procStatusKB(s.brokerPid(), "VmHWM")), mib(procStatusKB(os.Getpid(), "VmHWM")),
			s.frontNote(b, stormCPU0[3]))
	}
	cancel()
	// Every reading once: InfluxDB's count per device against what the broker
	// acknowledged to each device (a reading written twice would be one point, so
	// the duplicates the gateway filtered are counted from its metrics).
	counts := s.influxCount(b, "SELECT count(seq) FROM telemetry GROUP BY device")
	var missing, extra, acked int64
	for _, dv := range storm {
		n := dv.AckedReadings()
		acked += n
		switch c := counts[dv.row.device]; {
		case c < n:
			missing += n - c
		case c > n:
			extra += c - n
		}
	}
	dups := s.scrape(b)[`carebed_ingest_messages_total{kind="telemetry",result="duplicate"}`] - dup0
	cpu := [2]time.Duration{procCPU(b, s.gw.Process.Pid) - cpu0[0], procCPU(b, s.brokerPid()) - cpu0[1]}
	slices.Sort(lat)
	slices.Sort(backlog)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	over := 0 // the bound: the first SMS request within 1 s of the SOS
	for _, l := range lat {
		if l > time.Second {
			over++
		}
	}
	b.ReportMetric(float64(over), "sos_over_1s")
	b.ReportMetric(float64(missing), "missing_readings")
	b.ReportMetric(float64(p99.Microseconds())/1000, "sos_sms_p99_ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "sos_sms_p50_ms")
	b.ReportMetric(backlog[len(backlog)/2].Seconds(), "backlog_stored_median_s")
	b.ReportMetric(mib(procStatusKB(s.gw.Process.Pid, "VmHWM")), "gateway_peak_MiB")
	b.ReportMetric(mib(procStatusKB(s.brokerPid(), "VmHWM")), "broker_peak_MiB")
	b.Logf("%d storms of %d devices (gap %v, spread %v, %d live): storm readings acknowledged %d, missing in InfluxDB %d, "+
		"more than acknowledged %d, duplicates filtered %.0f; SOS to first SMS over %d presses: p50 %v, p99 %v, max %v, over 1 s %d; "+
		"backlog stored after %v; gateway start to ready %v; CPU over the storms: gateway %v, broker %v; peak RSS gateway %.0f MiB, broker %.0f MiB; "+
		"live connections the broker closed %d%s",
		stormRuns, stormDevices, stormGap, stormSpread, stormLive, acked, missing, extra, dups, len(lat), lat[len(lat)/2], p99, lat[len(lat)-1], over,
		backlog, s.ready.Round(time.Millisecond), cpu[0], cpu[1],
		mib(procStatusKB(s.gw.Process.Pid, "VmHWM")), mib(procStatusKB(s.brokerPid(), "VmHWM")), live.stop(b), s.frontNote(b, cpu0[2]))
	if missing > 0 {
		b.Errorf("%d acknowledged readings are not in InfluxDB", missing)
	}
}

// swarmDevices unwraps the swarm devices.
func swarmDevices(ds []*stormDevice) []*swarm.Device {
	out := make([]*swarm.Device, len(ds))
	for i, d := range ds {
		out[i] = d.Device
	}
	return out
}

// sendLive keeps the live devices reporting at their own intervals until ctx ends.
func sendLive(ctx context.Context, live []*stormDevice) {
	t := time.NewTicker(time.Second + time.Duration(rand.IntN(100))*time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, dv := range live {
				dv.Model.Tick(now)
				dv.Flush(nil)
			}
		}
	}
}

// sosStage is one SOS's way through the gateway, from its publish: the gateway's
// intake took it (received: the load generator's send, the broker, the session),
// its alert raised (the rules and the alert store), the family's SMS request begun
// (the escalation step and the text), how long the gateway's call took, and when the
// fake Twilio had it.
type sosStage struct {
	at                               time.Time
	received, raised, out, took, sms time.Duration
}

func (st sosStage) String() string {
	return fmt.Sprintf("[received %v, raised %v, family's request out %v, answered in %v, at the fake Twilio %v]",
		st.received, st.raised, st.out, st.took, st.sms)
}

// sosStages reads the gateway's log for each pressed SOS (device -> publish time):
// when the intake took it and its alert was raised (the alert's log line), and when
// the family's SMS request began (the log line of the sent SMS less the call's
// time). Beside the fake Twilio's receipt, it tells the generator's and the broker's
// share of an SOS's delay from the gateway's.
func sosStages(b *testing.B, logPath string, pressed map[string]time.Time) map[string]*sosStage {
	b.Helper()
	data, err := os.ReadFile(logPath)
	if err != nil {
		b.Log(err)
		return nil
	}
	codes := map[string]string{} // alert code -> device
	stages := map[string]*sosStage{}
	for _, line := range strings.Split(string(data), "\n") {
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(line, `msg="alert raised"`) && logField(line, "kind") == "sos":
			device := logField(line, "device")
			if p, ok := pressed[device]; ok {
				codes[logField(line, "alert")] = device
				stages[device] = &sosStage{at: p, raised: at.Sub(p).Round(time.Millisecond)}
				if r, err := time.Parse(time.RFC3339Nano, logField(line, "received")); err == nil {
					stages[device].received = r.Sub(p).Round(time.Millisecond)
				}
			}
		case strings.Contains(line, `msg="notification sent"`) && logField(line, "role") == "family" &&
			logField(line, "channel") == "sms" && logField(line, "purpose") == "page":
			device, ok := codes[logField(line, "alert")]
			took, err := time.ParseDuration(logField(line, "took"))
			if ok && err == nil && stages[device].took == 0 {
				stages[device].out = at.Add(-took).Sub(pressed[device]).Round(time.Millisecond)
				stages[device].took = took
			}
		}
	}
	return stages
}

// logField is the value of key in a log line of slog's text format (values without
// spaces), or "".
func logField(line, key string) string {
	_, v, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}
