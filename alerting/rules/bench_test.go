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
