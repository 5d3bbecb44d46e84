package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/swarm"
	"carebed/gateway/protocol"
	"carebed/gateway/protocol/mqttconn"
	"carebed/internal/devsvc"
)

// The 100,000-device run's shape (docs/performance.md, "100,000 devices
// connected"); make bench-100k sets them from its variables.
var (
	connDevices = int(envRates("CAREBED_CONN_DEVICES", []float64{100000})[0])
	connEvery   = envDuration("CAREBED_CONN_EVERY", time.Minute)
	connHold    = envDuration("CAREBED_CONN_HOLD", 5*time.Minute)
	connSOS     = int(envRates("CAREBED_CONN_SOS", []float64{100})[0])
)

// BenchmarkConnections holds connDevices device connections open with keepalive to
// the embedded broker and to Mosquitto (CAREBED_CONN_BROKERS=embedded,mosquitto;
// haproxy: Mosquitto behind HAProxy, devices on TLS),
// each device sending a reading every connEvery, for connHold; meanwhile elders
// press SOS (connSOS times, spread over the hold). It reports the gateway's and the
// broker's memory and CPU, the gateway's start to ready with every device
// registered, and SOS to the first SMS request.
func BenchmarkConnections(b *testing.B) {
	for _, broker := range strings.Split(envString("CAREBED_CONN_BROKERS", "embedded,mosquitto"), ",") {
		b.Run("broker="+broker, func(b *testing.B) {
			for range b.N {
				runConnections(b, broker)
			}
		})
	}
}

func runConnections(b *testing.B, broker string) {
	raiseFileLimit(b, uint64(connDevices)+4096)
	s := newSite(b, broker, connDevices, false, "")
	readyCPU := procCPU(b, s.gw.Process.Pid)
	b.Logf("gateway start to ready with %d devices registered: %v (CPU %v); open-file limits: gateway %s, broker %s",
		len(s.rows), s.ready.Round(time.Millisecond), readyCPU, fileLimit(s.gw.Process.Pid), fileLimit(s.brokerPid()))
	devs := make([]*stormDevice, len(s.rows))
	var pendants []*stormDevice
	for i, row := range s.rows {
		c := device.Config{ID: row.device, Kind: row.kind, Start: time.Now(), Every: connEvery}
		var m device.Model = device.NewAlarm(c)
		if row.kind == "sos_pendant" {
			m = device.NewPendant(c, 0)
		}
		devs[i] = &stormDevice{Device: &swarm.Device{Model: m, Password: s.passwords[row.device]}, row: row}
		if row.kind == "sos_pendant" && len(pendants) < connSOS {
			pendants = append(pendants, devs[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc := &reconnector{ctx: ctx, byID: map[string]*swarm.Device{}}
	for _, dv := range devs {
		rc.byID[dv.row.device] = dv.Device
	}
	d, err := swarm.New(swarm.Options{Broker: s.brokerAddr, TLS: s.deviceTLS, Sources: sources(len(s.rows)), KeepAlive: 60 * time.Second,
		Backoff: stormBackoff, OnLost: rc.onLost})
	if err != nil {
		b.Fatal(err)
	}
	rc.d = d
	b.Cleanup(d.Close)
	mBefore, cpuBefore := s.scrape(b), procCPU(b, s.gw.Process.Pid)
	connectCtx, connected := context.WithTimeout(ctx, 15*time.Minute)
	began := time.Now()
	// Devices switched on over a minute (at most 1 ms apart each), as a county's
	// do after an upgrade of the gateway, not all in the same millisecond.
	rep := swarm.Storm(connectCtx, d, swarmDevices(devs), min(time.Minute, time.Duration(len(devs))*time.Millisecond), time.Now)
	connected()
	if rep.Failed > 0 {
		b.Fatalf("connecting %d devices: %+v", len(devs), rep)
	}
	rc.armed.Store(true)
	st, mConnected := d.Stats(), s.scrape(b)
	b.Logf("%d devices connected %s in %v from %d source addresses (%d attempts, %d refused by CONNACK, %d failed otherwise; "+
		"the embedded broker's refusals: %s); the gateway's CPU meanwhile %v, %.0f collections",
		st.Open, map[bool]string{true: "over TLS", false: "over TCP"}[s.deviceTLS != nil],
		time.Since(began).Round(time.Millisecond), len(sources(len(s.rows))),
		st.Attempts, st.Refused, st.Failed, refusals(mBefore, mConnected), procCPU(b, s.gw.Process.Pid)-cpuBefore,
		mConnected["go_gc_duration_seconds_count"]-mBefore["go_gc_duration_seconds_count"])

	var sent, acked atomic.Int64
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				for _, dv := range devs {
					dv.Model.Tick(now)
					dv.Flush(func(_ device.Message, err error) {
						if sent.Add(1); err == nil {
							acked.Add(1)
						}
					})
				}
			}
		}
	}()
	time.Sleep(10 * time.Second) // every device in its reading rhythm
	gw, br := s.gw.Process.Pid, s.brokerPid()
	cpu0 := [3]time.Duration{procCPU(b, gw), procCPU(b, br), selfCPU(b)}
	frontCPU0 := s.frontCPU(b)
	sent0, acked0, m0 := sent.Load(), acked.Load(), s.scrape(b)
	sos := map[string]time.Time{}
	var sosMu sync.Mutex
	holdStart := time.Now()
	if path := os.Getenv("CAREBED_BENCH_CPUPROFILE"); path != "" { // where the hold's CPU goes
		go fetch(b, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.httpURL, int(connHold.Seconds())),
			fmt.Sprintf("%s.%d", path, len(devs)))
	}
	gap := connHold / time.Duration(len(pendants)+1)
	var peakRSS [2]int64
	for _, p := range pendants {
		deadline := time.Now().Add(gap)
		for time.Now().Before(deadline) {
			peakRSS[0] = max(peakRSS[0], procStatusKB(gw, "VmRSS"))
			peakRSS[1] = max(peakRSS[1], procStatusKB(br, "VmRSS"))
			time.Sleep(min(time.Second, time.Until(deadline)))
		}
		at := time.Now()
		p.Model.(*device.Pendant).Press(at)
		p.Flush(nil)
		sosMu.Lock()
		sos["+86"+p.row.family] = at
		sosMu.Unlock()
	}
	for time.Since(holdStart) < connHold {
		time.Sleep(time.Second)
	}
	hold := time.Since(holdStart)
	if path := os.Getenv("CAREBED_BENCH_HEAPPROFILE"); path != "" { // what the connections hold
		fetch(b, s.httpURL+"/debug/pprof/heap", fmt.Sprintf("%s.%d", path, len(devs)))
		fetch(b, s.httpURL+"/debug/pprof/heap?debug=1", fmt.Sprintf("%s.%d.txt", path, len(devs)))
		fetch(b, s.httpURL+"/debug/pprof/goroutine?debug=1", fmt.Sprintf("%s.%d.goroutines.txt", path, len(devs)))
	}
	cpu := [3]time.Duration{procCPU(b, gw) - cpu0[0], procCPU(b, br) - cpu0[1], selfCPU(b) - cpu0[2]}
	msgs := sent.Load() - sent0
	waitUntil(b, time.Minute, "an SMS for every SOS", func() bool { return s.sms.arrivals(b).count(sos) == len(sos) })
	landed := s.waitLanded(b, m0[pointsWritten]+float64(acked.Load()-acked0), time.Minute)
	m1 := s.scrape(b)
	lat := s.sms.arrivals(b).latencies(sos)
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no SOS pressed: no pendant in the ledger")
	}
	p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	open := d.Stats().Open
	gwRSS, brRSS := procStatusKB(gw, "VmRSS"), procStatusKB(br, "VmRSS")
	gwHWM, brHWM := procStatusKB(gw, "VmHWM"), procStatusKB(br, "VmHWM")
	both := gwHWM
	if !s.embedded {
		both += brHWM
	}
	if s.front != nil {
		both += procStatusKB(s.front.Pid(), "VmHWM")
	}
	pct := func(c time.Duration) float64 { return 100 * c.Seconds() / hold.Seconds() }
	b.ReportMetric(float64(open), "connections")
	b.ReportMetric(mib(both), "gateway+broker_peak_MiB")
	b.ReportMetric(s.ready.Seconds(), "start_to_ready_s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "sos_sms_p99_ms")
	b.ReportMetric(pct(cpu[0]), "gateway_cpu_%")
	b.ReportMetric(pct(cpu[1]), "broker_cpu_%")
	b.Logf("%d connections held %v at %.0f msg/s (%d acknowledged of %d sent in all; InfluxDB took %.0f points since the hold began): "+
		"gateway RSS %.0f MiB (peak %.0f, sampled max %.0f), broker RSS %.0f MiB (peak %.0f, sampled max %.0f)%s; "+
		"CPU %% of a core: gateway %.1f, broker %.1f, load generator %.1f; start to ready %v (CPU %v); "+
		"SOS to first SMS over %d presses: p50 %v, p99 %v, max %v; load generator peak RSS %.0f MiB; connections the broker closed %d",
		open, hold.Round(time.Second), float64(msgs)/hold.Seconds(), acked.Load(), sent.Load(),
		m1[pointsWritten]-m0[pointsWritten],
		mib(gwRSS), mib(gwHWM), mib(peakRSS[0]), mib(brRSS), mib(brHWM), mib(peakRSS[1]), map[bool]string{true: " (the same process)", false: ""}[s.embedded],
		pct(cpu[0]), pct(cpu[1]), pct(cpu[2]), s.ready.Round(time.Millisecond), readyCPU,
		len(lat), p50, p99, lat[len(lat)-1], mib(procStatusKB(os.Getpid(), "VmHWM")), rc.lost.Load())
	if s.front != nil {
		b.Logf("HAProxy in front of Mosquitto: CPU %.1f %% of a core over the hold, RSS %.0f MiB (peak %.0f)",
			pct(s.frontCPU(b)-frontCPU0), mib(procStatusKB(s.front.Pid(), "VmRSS")), mib(procStatusKB(s.front.Pid(), "VmHWM")))
	}
	b.Logf("the gateway's Go memory at the end: heap in use %.0f MiB, the next collection at %.0f MiB of heap, stacks %.0f MiB",
		mib(int64(m1["go_memstats_heap_inuse_bytes"])>>10), mib(int64(m1["go_memstats_next_gc_bytes"])>>10),
		mib(int64(m1["go_memstats_stack_inuse_bytes"])>>10))
	if landed.IsZero() {
		b.Errorf("InfluxDB took %.0f points in the hold, fewer than the %d readings acknowledged", m1[pointsWritten]-m0[pointsWritten], acked.Load()-acked0)
	}
	if open != len(devs) {
		b.Errorf("%d of %d connections open at the end", open, len(devs))
	}
}

// BenchmarkClientMemory measures what one idle device connection costs the load
// generator: paho as firmware-sim's link configures it, against a swarm connection
// (firmware-sim/swarm), CAREBED_CLIENTMEM_CONNS of each (default 1,000) to one
// Mosquitto. It is why the storm and the 100,000-device run use swarm.
func BenchmarkClientMemory(b *testing.B) {
	n := int(envRates("CAREBED_CLIENTMEM_CONNS", []float64{1000})[0])
	raiseFileLimit(b, uint64(2*n)+4096)
	for range b.N {
		mq := devsvc.StartMosquitto(b)
		d, err := swarm.New(swarm.Options{Broker: mq.Addr})
		if err != nil {
			b.Fatal(err)
		}
		swarmKB := perConn(b, n, func(i int) func() {
			c, err := d.Connect(context.Background(), fmt.Sprintf("mem-swarm-%05d", i), "")
			if err != nil {
				b.Fatal(err)
			}
			return c.Close
		})
		d.Close()
		pahoKB := perConn(b, n, func(i int) func() { return pahoClient(b, mq.URL, fmt.Sprintf("mem-paho-%05d", i), true) })
		plainKB := perConn(b, n, func(i int) func() { return pahoClient(b, mq.URL, fmt.Sprintf("mem-plain-%05d", i), false) })
		b.ReportMetric(swarmKB, "swarm_KiB/conn")
		b.ReportMetric(pahoKB, "paho_KiB/conn")
		b.ReportMetric(plainKB, "plain_paho_KiB/conn")
		b.Logf("Go memory in use (heap + stacks) per idle connection, %d connections: swarm %.1f KiB, paho as firmware-sim/link "+
			"configures it (mqttconn's buffered connection) %.1f KiB, paho on the bare socket %.1f KiB; 100,000 connections: "+
			"swarm %.0f MiB, paho %.0f / %.0f MiB", n, swarmKB, pahoKB, plainKB, swarmKB*100000/1024, pahoKB*100000/1024, plainKB*100000/1024)
	}
}

// pahoClient connects a paho client as firmware-sim/link does (persistent session,
// keepalive, Last Will, cmd subscription), through mqttconn when buffered is set,
// and returns how to close it.
func pahoClient(b *testing.B, broker, id string, buffered bool) func() {
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetUsername(id).
		SetCleanSession(false).SetAutoReconnect(true).SetKeepAlive(60*time.Second).SetOrderMatters(false).
		SetBinaryWill(protocol.DeviceTopic(id, protocol.KindStatus), protocol.EncodeStatus(protocol.Status{}), 1, true)
	if buffered {
		o.SetCustomOpenConnectionFn(func(u *url.URL, co mqtt.ClientOptions) (net.Conn, error) { return mqttconn.Dial(u, co) })
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("paho connect: %v", tok.Error())
	}
	c.Subscribe(protocol.DeviceTopic(id, protocol.KindCmd), 1, nil).WaitTimeout(10 * time.Second)
	return func() { c.Disconnect(0) }
}

// perConn opens n connections with open (which returns how to close one) and
// returns the Go memory in use (heap and goroutine stacks, after a GC) per
// connection, in KiB.
func perConn(b *testing.B, n int, open func(i int) func()) float64 {
	b.Helper()
	inUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	before := inUse()
	closers := make([]func(), n)
	for i := range closers {
		closers[i] = open(i)
	}
	time.Sleep(time.Second) // subscriptions acknowledged, goroutines settled
	after := inUse()
	for _, c := range closers {
		c()
	}
	time.Sleep(2 * time.Second) // the closed clients' goroutines end before the next measure
	return (float64(after) - float64(before)) / float64(n) / 1024
}
