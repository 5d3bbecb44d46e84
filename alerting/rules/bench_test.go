package rules

import (
	"context"
	"fmt"
	"testing"
	"time"

	"carebed/alerting"
)

// BenchmarkObserveReading measures the rules' work for one ordinary bed-sensor
// reading, which the gateway does for every telemetry message: nothing is raised.
func BenchmarkObserveReading(b *testing.B) {
	e := New(Options{Store: openStore(b)})
	const devices = 1000
	ids := make([]string, devices)
	for i := range ids {
		ids[i] = fmt.Sprintf("bed-%05d", i)
	}
	hr, rr, batt, motion, occ := 62.0, 14.0, 90.0, 0.2, true
	r := &alerting.Reading{Battery: &batt, HR: &hr, RR: &rr, Motion: &motion, Occupied: &occ}
	ctx := context.Background()
	now := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Millisecond)
		o := alerting.Observation{Device: ids[i%devices], Place: place, Seq: uint64(i + 1), At: now, Received: now, Reading: r}
		if err := e.Observe(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSave measures saving the condition state of 10,000 devices that all
// reported since the last save (the gateway saves every 5 s).
func BenchmarkSave(b *testing.B) {
	st := openStore(b)
	e := New(Options{Store: st})
	hr, occ := 62.0, true
	r := &alerting.Reading{HR: &hr, Occupied: &occ}
	ctx := context.Background()
	const devices = 10000
	for range b.N {
		b.StopTimer()
		for i := range devices {
			o := alerting.Observation{Device: fmt.Sprintf("bed-%05d", i), Place: place, Received: t0, At: t0, Reading: r}
			if err := e.Observe(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := e.Save(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*devices), "µs/device")
}

// BenchmarkPowerCut measures the rules' work for a village's devices going offline
// (their Last Wills) and coming back online, as a township's reconnect storm brings
// them: one op is one device's offline and online status. The first devices' held
// alerts open the village outage; the others join it.
func BenchmarkPowerCut(b *testing.B) {
	e := New(Options{Store: openStore(b)})
	ctx := context.Background()
	now := t0
	status := func(device string, online bool) {
		now = now.Add(time.Millisecond)
		p := place
		p.Home = "H-" + device
		o := alerting.Observation{Device: device, Place: p, At: now, Received: now, Status: &alerting.Status{Online: online}}
		if err := e.Observe(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("bed-%05d", i)
	}
	b.ResetTimer()
	for _, id := range ids {
		status(id, false)
	}
	for _, id := range ids {
		status(id, true)
	}
}

// BenchmarkRaiseDuringSave measures how long an SOS's alert waits while the
// engine saves a township's device state (19,200 devices, all changed: a reconnect
// storm) into the same SQLite store: the slowest of the raises made every 5 ms
// during the save (SaveChunk devices a transaction).
func BenchmarkRaiseDuringSave(b *testing.B) {
	st := openStore(b)
	e := New(Options{Store: st})
	ctx := context.Background()
	hr := 62.0
	r := &alerting.Reading{HR: &hr}
	var worst time.Duration
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		for i := range 19200 { // every device changed since the last save
			o := alerting.Observation{Device: fmt.Sprintf("bed-%05d", i), Place: place, Received: t0, At: t0, Reading: r}
			if err := e.Observe(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		done := make(chan error, 1)
		go func() { done <- e.Save(ctx, st) }()
		for i := 0; ; i++ {
			p := place
			p.Home = fmt.Sprintf("SOS-%d-%d", n, i)
			began := time.Now()
			if _, _, err := st.Raise(ctx, alerting.Raise{Kind: alerting.KindSOS, Sev: alerting.Critical, Place: p,
				Device: p.Home, EventAt: began, Now: began}); err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(began))
			select {
			case err := <-done:
				if err != nil {
					b.Fatal(err)
				}
			case <-time.After(5 * time.Millisecond):
				continue
			}
			break
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst_raise_ms")
}
