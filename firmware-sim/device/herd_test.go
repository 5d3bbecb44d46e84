package device

import (
	"slices"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

// Winter quarters by 巴西里克村 (巴音布鲁克镇) and a summer pasture on the
// Bayanbulak grassland, 40 km to the west-southwest.
var (
	winter  = LatLon{Lat: 43.03, Lon: 84.15}
	pasture = LatLon{Lat: 42.87, Lon: 83.71}
	xj      = time.FixedZone("UTC+6", 6*3600)
)

func herd() Herd { return Herd{Winter: winter, Summer: pasture, Seed: 3} }

func TestHerdMovesWithTheSeasons(t *testing.T) {
	d := DistanceM(winter, pasture)
	if d < 35000 || d > 45000 {
		t.Fatalf("winter quarters to pasture %.0f m; the test wants about 40 km", d)
	}
	cases := []struct {
		name   string
		h      Herd
		at     time.Time
		season string
		home   float64 // the camp's distance from the winter quarters, metres (±1 km)
	}{
		{"winter evening", herd(), time.Date(2026, 1, 15, 21, 0, 0, 0, xj), SeasonWinter, 0},
		{"the morning before setting off", herd(), time.Date(2026, 6, 1, 5, 0, 0, 0, xj), SeasonWinter, 0},
		{"half way up", herd(), time.Date(2026, 6, 2, 18, 0, 0, 0, xj), "trek", d / 2},
		{"on the pasture in July", herd(), time.Date(2026, 7, 20, 12, 0, 0, 0, xj), SeasonSummer, d},
		{"a third of the way down", herd(), time.Date(2026, 9, 21, 6, 0, 0, 0, xj), "trek", d * 2 / 3},
		{"back for the winter", herd(), time.Date(2026, 10, 1, 12, 0, 0, 0, xj), SeasonWinter, 0},
		{"a later up day", Herd{Winter: winter, Summer: pasture, Up: 170}, time.Date(2026, 6, 10, 12, 0, 0, 0, xj), SeasonWinter, 0},
		{"kept on the pasture in January", Herd{Winter: winter, Summer: pasture, Season: SeasonSummer}, time.Date(2026, 1, 15, 21, 0, 0, 0, xj), SeasonSummer, d},
		{"kept home in July", Herd{Winter: winter, Summer: pasture, Season: SeasonWinter}, time.Date(2026, 7, 20, 12, 0, 0, 0, xj), SeasonWinter, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			camp, season := c.h.Camp(c.at)
			if season != c.season {
				t.Errorf("season %q, want %q", season, c.season)
			}
			if got := DistanceM(winter, camp); got < c.home-1000 || got > c.home+1000 {
				t.Errorf("camp %.0f m from the winter quarters, want %.0f", got, c.home)
			}
			radius := float64(grazeWinterM)
			if season != SeasonWinter {
				radius = grazeSummerM
			}
			if w := DistanceM(camp, c.h.Where(c.at)); w > radius*1.5 {
				t.Errorf("the elder is %.0f m from the camp; the herd wanders %v m", w, radius)
			}
		})
	}
}

func TestHerdWandersSmoothly(t *testing.T) {
	h := herd()
	h.Season = SeasonSummer
	start := time.Date(2026, 7, 20, 0, 0, 0, 0, xj)
	prev, far := h.Where(start), 0.0
	for m := 1; m <= 24*60; m++ {
		p := h.Where(start.Add(time.Duration(m) * time.Minute))
		if step := DistanceM(prev, p); step > 60 {
			t.Fatalf("minute %d: the herd jumped %.0f m", m, step)
		}
		far, prev = max(far, DistanceM(pasture, p)), p
	}
	if far < 1000 {
		t.Errorf("the herd stayed within %.0f m of its camp all day", far)
	}
}

// TestCoverageGaps: at the winter quarters the device always has coverage; on the
// pasture it loses it once in every six hours, for one to four hours, the same way
// for the same seed, differently for another.
func TestCoverageGaps(t *testing.T) {
	gaps := func(h Herd, from time.Time) []time.Duration {
		var out []time.Duration
		var since time.Time
		for m := 0; m <= 48*60; m++ {
			at := from.Add(time.Duration(m) * time.Minute)
			switch c := h.Covered(at); {
			case !c && since.IsZero():
				since = at
			case c && !since.IsZero():
				out, since = append(out, at.Sub(since)), time.Time{}
			}
		}
		return out
	}
	winterDay := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	if g := gaps(herd(), winterDay); len(g) != 0 {
		t.Errorf("gaps at the winter quarters: %v", g)
	}
	summerDay := time.Date(2026, 7, 20, 0, 0, 0, 0, time.UTC)
	g := gaps(herd(), summerDay)
	if len(g) < 7 || len(g) > 9 {
		t.Fatalf("%d gaps in 48 h on the pasture (%v), want one per 6 h", len(g), g)
	}
	for _, d := range g {
		if d < 59*time.Minute || d > 8*time.Hour { // two gaps may touch across a slot's edge
			t.Errorf("gap of %v", d)
		}
	}
	if again := gaps(herd(), summerDay); !slices.Equal(g, again) {
		t.Error("the same herd gave other gaps")
	}
	other := herd()
	other.Seed++
	if slices.Equal(g, gaps(other, summerDay)) {
		t.Error("another seed gave the same gaps")
	}
	always := herd()
	always.NoGaps = true
	if g := gaps(always, summerDay); len(g) != 0 {
		t.Errorf("gaps without gaps: %v", g)
	}
}

// herderPendant is a herder's pendant on the pasture in July.
func herderPendant() (*Pendant, time.Time) {
	start := time.Date(2026, 7, 20, 8, 0, 0, 0, time.UTC)
	c := cfg("hb-0001-sos", "sos_pendant")
	c.Start = start
	return NewHerderPendant(c, 0, GPS{Herd: herd()}), start
}

func TestHerderPendantSendsFixes(t *testing.T) {
	p, start := herderPendant()
	up := decodeAll(t, p.Core().Up(start))
	if st := up[0].m.Status; st.Fix == nil || st.FixDropped != "" {
		t.Fatalf("online status without the last fix: %s", up[0].Payload)
	}
	p.Tick(start.Add(2 * time.Hour))
	rs := readings(decodeAll(t, p.Take()))
	with := 0
	for _, r := range rs {
		if r.FixDropped != "" {
			t.Fatalf("the gateway drops a fix (%s): %+v", r.FixDropped, r)
		}
		if r.Fix == nil {
			continue
		}
		with++
		pos := LatLon{Lat: r.Fix.Lat, Lon: r.Fix.Lon}
		if d := DistanceM(pasture, pos); d > 5000 {
			t.Errorf("a fix %.0f m from the pasture", d)
		}
		if age := r.TS - r.Fix.TS; age < 0 || age > DefaultFixEvery.Milliseconds() {
			t.Errorf("a reading carries a fix %d ms old", age)
		}
		if r.Fix.AccM < 4 || r.Fix.AccM > 150 {
			t.Errorf("acc_m %v", r.Fix.AccM)
		}
	}
	if with < len(rs)*7/10 || with == len(rs) {
		t.Errorf("%d of %d readings carry a fix; want most, not all (no sky now and then)", with, len(rs))
	}
}

// TestHerderSOSCarriesLastFix: the SOS carries the last fix the receiver has, the
// one of the last attempt that found the sky, with its own fix_ts.
func TestHerderSOSCarriesLastFix(t *testing.T) {
	p, start := herderPendant()
	connected(t, p)
	g := GPS{Herd: herd()}
	// A press in the first minute after an attempt that found no sky.
	var at time.Time
	for m := 1; at.IsZero(); m++ {
		a := start.Add(time.Duration(m) * time.Minute)
		if _, ok := g.Fresh(a); !ok {
			at = a.Add(30 * time.Second)
		}
	}
	p.Press(at)
	ev := events(decodeAll(t, p.Take()))
	sos := ev[len(ev)-1]
	want, _ := g.LastFix(at)
	switch {
	case sos.Type != protocol.EventSOS || sos.Fix == nil:
		t.Fatalf("SOS %+v without a fix", sos)
	case sos.Fix.TS != want.At.UnixMilli() || sos.Fix.Lat != want.Pos.Lat:
		t.Errorf("SOS fix %+v, want the last fix %+v", sos.Fix, want)
	case sos.TS-sos.Fix.TS <= 30_000:
		t.Errorf("the fix is %d ms old; the last attempt found no sky, so it is older", sos.TS-sos.Fix.TS)
	}
}

// TestHerderGapKeepsAndReplays: through a coverage gap the pendant keeps its
// readings (each with its fix) and an SOS (with its last fix); back in coverage it
// says it is online, sends the SOS, then the readings as batches, oldest first,
// every one accepted by the gateway's decoder.
func TestHerderGapKeepsAndReplays(t *testing.T) {
	p, start := herderPendant()
	h := herd()
	// The first gap after start.
	var gapFrom, gapTo time.Time
	for at := start; gapTo.IsZero(); at = at.Add(time.Minute) {
		switch c := h.Covered(at); {
		case !c && gapFrom.IsZero():
			gapFrom = at
		case c && !gapFrom.IsZero():
			gapTo = at
		}
	}
	connected(t, p)
	p.Tick(gapFrom)
	p.Take()
	p.Down()
	p.Tick(gapFrom.Add(20 * time.Minute))
	p.Press(gapFrom.Add(20 * time.Minute))
	p.Tick(gapTo)
	st := p.Stats()
	if st.KeptEvents != 1 || st.KeptReadings < int(gapTo.Sub(gapFrom)/time.Minute)-1 {
		t.Fatalf("kept %+v through a gap of %v", st, gapTo.Sub(gapFrom))
	}
	ds := decodeAll(t, p.Up(gapTo))
	if ds[0].m.Topic.Kind != protocol.KindStatus || ds[1].m.Topic.Kind != protocol.KindEvent || !ds[1].Replay {
		t.Fatalf("replay starts %s, %s; want the status, then the SOS", ds[0].Payload, ds[1].Payload)
	}
	if sos := ds[1].m.Event; sos.Type != protocol.EventSOS || sos.Fix == nil || sos.Fix.TS > sos.TS {
		t.Errorf("replayed SOS %+v", sos)
	}
	var rs []protocol.Reading
	for _, d := range ds[2:] {
		if !d.Batch() || !d.Replay || len(d.Payload) > protocol.MaxBatchSize {
			t.Fatalf("after the SOS: %d bytes, batch %v", len(d.Payload), d.Batch())
		}
		rs = append(rs, d.m.Telemetry.Readings...)
	}
	if len(rs) != st.KeptReadings {
		t.Fatalf("%d readings replayed, %d kept", len(rs), st.KeptReadings)
	}
	fixes := 0
	for i, r := range rs {
		if i > 0 && (r.Seq <= rs[i-1].Seq || r.TS <= rs[i-1].TS) {
			t.Fatalf("replay not oldest first: %+v after %+v", r, rs[i-1])
		}
		if r.Fix != nil {
			fixes++
		}
	}
	if fixes < len(rs)/2 {
		t.Errorf("%d of %d replayed readings carry their fix", fixes, len(rs))
	}
}

// TestBatchesFitBySize: a long gap's readings, every one with a fix and every field
// at its longest, go out in batches within the protocol's size limit.
func TestBatchesFitBySize(t *testing.T) {
	rs := make([]protocol.Reading, 1000)
	long := func(x float64) *float64 { return &x }
	occ := true
	for i := range rs {
		rs[i] = protocol.Reading{Seq: 9_000_000_000_000_000_000 + uint64(i), TS: 9_000_000_000_000_000_000 + int64(i),
			Battery: long(99.12345678901234), RSSI: long(-101.12345678901234), HR: long(123.12345678901234),
			RR: long(23.123456789012345), Occupied: &occ, Motion: long(0.12345678901234567), TempC: long(-23.12345678901234),
			Fix: &protocol.Fix{Lat: -42.12345678901234, Lon: -123.12345678901234, AccM: 9999.123456789012, TS: 9_000_000_000_000_000_000 + int64(i)}}
	}
	if l := len(protocol.EncodeReading(rs[0])); l < 340 {
		t.Fatalf("a reading of %d bytes; the test wants the longest", l)
	}
	n := 0
	for _, b := range Batches(rs) {
		if p := protocol.EncodeBatch(b); len(p) > protocol.MaxBatchSize {
			t.Errorf("batch of %d readings is %d bytes", len(b), len(p))
		}
		if len(b) > BatchReadings {
			t.Errorf("batch of %d readings", len(b))
		}
		n += len(b)
	}
	if n != len(rs) {
		t.Errorf("%d readings in batches, want %d", n, len(rs))
	}
}

// TestHerderSameWhateverTheTick: a day's messages do not depend on how often the
// pendant is ticked.
func TestHerderSameWhateverTheTick(t *testing.T) {
	run := func(step time.Duration) []string {
		p, start := herderPendant()
		p.Core().Up(start)
		var out []string
		for at := start; at.Before(start.Add(6 * time.Hour)); at = at.Add(step) {
			p.Tick(at)
			for _, m := range p.Take() {
				out = append(out, string(m.Payload))
			}
		}
		return out
	}
	a, b := run(time.Second), run(7*time.Minute)
	if len(a) == 0 || !slices.Equal(a[:len(b)], b) {
		t.Errorf("ticked every second: %d messages; every 7 minutes: %d, or they differ", len(a), len(b))
	}
}
