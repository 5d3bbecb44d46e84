package device

import (
	"bytes"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

func bed(t *testing.T, seed uint64) (*Bed, *Routine) {
	t.Helper()
	c := cfg("bed-0001", "bed_sensor")
	c.Seed = seed
	r := NewRoutine(seed, "H-0001", xinjiang(t))
	b := NewBed(c, BedConfig{Routine: r})
	connected(t, b)
	return b, r
}

func TestBedFollowsTheRoutine(t *testing.T) {
	b, r := bed(t, 5)
	b.Tick(t0.Add(48 * time.Hour))
	ds := decodeAll(t, b.Take())
	for _, rd := range readings(ds) {
		at := time.UnixMilli(rd.TS)
		in, _ := r.At(at)
		if rd.Occupied == nil || *rd.Occupied != in {
			t.Fatalf("reading at %v says occupied %v; the routine says %v", at, rd.Occupied, in)
		}
		vitals := rd.HR != nil && rd.RR != nil && rd.Motion != nil
		if vitals != in || in && (*rd.HR < 45 || *rd.HR > 90 || *rd.RR < 8 || *rd.RR > 25) {
			t.Fatalf("reading at %v: %+v", at, rd)
		}
	}
	ev := events(ds)
	if len(ev) < 4 {
		t.Fatalf("two days gave %d bed events", len(ev))
	}
	in, _ := r.At(t0)
	for i, e := range ev {
		want := protocol.EventBedReturn
		if in {
			want = protocol.EventBedExit
		}
		if e.Type != want {
			t.Fatalf("event %d is %s, want %s (exits and returns alternate)", i, e.Type, want)
		}
		in = !in
	}
	z := xinjiang(t)
	morning := time.UnixMilli(ev[len(ev)-1].TS)
	for _, e := range ev {
		if at := time.UnixMilli(e.TS).In(z); e.Type == protocol.EventBedExit && at.Hour() >= 5 && at.Hour() < 9 {
			morning = at
			break
		}
	}
	if morning.Hour() < 5 || morning.Hour() >= 9 {
		t.Errorf("no bed_exit between 05:00 and 09:00 Xinjiang time: %+v", ev)
	}
}

func TestBedIsDeterministicWhateverTheTicks(t *testing.T) {
	a, _ := bed(t, 9)
	b, _ := bed(t, 9)
	a.Tick(t0.Add(30 * time.Hour))
	for at := t0; !at.After(t0.Add(30 * time.Hour)); at = at.Add(7 * time.Minute) {
		b.Tick(at)
	}
	b.Tick(t0.Add(30 * time.Hour))
	ma, mb := a.Take(), b.Take()
	if len(ma) != len(mb) {
		t.Fatalf("one tick made %d messages, many ticks %d", len(ma), len(mb))
	}
	for i := range ma {
		if !bytes.Equal(ma[i].Payload, mb[i].Payload) {
			t.Fatalf("message %d differs:\n%s\n%s", i, ma[i].Payload, mb[i].Payload)
		}
	}
}

func TestBedAnomalies(t *testing.T) {
	day := time.Date(2026, 1, 16, 8, 0, 0, 0, time.UTC)    // 14:00 Xinjiang time
	night := time.Date(2026, 1, 15, 20, 0, 0, 0, time.UTC) // 02:00 Xinjiang time
	cases := []struct {
		kind  AnomalyKind
		at    time.Time
		check func(r protocol.Reading) bool
	}{
		{HighHR, day, func(r protocol.Reading) bool { return *r.Occupied && *r.HR > 130 }},
		{LowHR, night, func(r protocol.Reading) bool { return *r.Occupied && *r.HR < 40 && *r.HR > 0 }},
		{NoHeartRate, night, func(r protocol.Reading) bool { return *r.Occupied && *r.HR == 0 && *r.Motion == 0 }},
		{NoMovement, day, func(r protocol.Reading) bool { return *r.Occupied && *r.Motion == 0 && *r.HR > 40 }},
		{LongBedExit, night, func(r protocol.Reading) bool { return !*r.Occupied && r.HR == nil }},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			b, _ := bed(t, 2)
			b.Tick(c.at)
			b.Take()
			if err := b.Anomaly(c.at, c.kind, 30*time.Minute); err != nil {
				t.Fatal(err)
			}
			b.Tick(c.at.Add(2 * time.Hour))
			ds := decodeAll(t, b.Take())
			n := 0
			for _, r := range readings(ds) {
				during := r.TS > c.at.UnixMilli()+20000 && r.TS < c.at.Add(30*time.Minute).UnixMilli()
				if during && !c.check(r) {
					t.Fatalf("reading during the anomaly: %+v", r)
				}
				if during {
					n++
				}
			}
			if n < 25 {
				t.Errorf("%d readings during 30 minutes at one a minute", n)
			}
			if c.kind == LongBedExit {
				ev := events(ds)
				if len(ev) < 2 || ev[0].Type != protocol.EventBedExit || ev[1].Type != protocol.EventBedReturn ||
					ev[1].TS-ev[0].TS < (30*time.Minute).Milliseconds() {
					t.Errorf("events %+v; want bed_exit, then bed_return 30 min later", ev)
				}
			}
		})
	}
	b, _ := bed(t, 2)
	if err := b.Anomaly(t0, "earthquake", time.Minute); err == nil {
		t.Error("an unknown anomaly was accepted")
	}
}
