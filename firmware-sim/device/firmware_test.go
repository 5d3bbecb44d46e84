package device

import (
	"errors"
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

func TestCounterSurvivesReboots(t *testing.T) {
	cases := []struct {
		name         string
		first, every uint64
		before       int // values used before each reboot
	}{
		{"save every 256", 1000, 256, 300},
		{"save every value", 1, 1, 5},
		{"reboot right after a save", 1, 4, 4},
		{"reboot at once", 50, 16, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctr := NewCounter(c.first, c.every)
			var used []uint64
			for range 3 {
				for range c.before {
					used = append(used, ctr.Next())
				}
				ctr.Reboot()
				used = append(used, ctr.Next())
			}
			strictlyIncreasing(t, c.name, used)
			if gap := used[len(used)-1] - used[len(used)-2]; gap > c.every+1 {
				t.Errorf("a reboot skipped %d values; at most %d", gap, c.every)
			}
		})
	}
}

func TestReportsHeartbeatBatteryAndSignal(t *testing.T) {
	p := NewPendant(cfg("sos-0001", "sos_pendant"), 0)
	connected(t, p)
	p.Tick(t0.Add(time.Hour))
	ds := decodeAll(t, p.Take())
	rs := readings(ds)
	if len(rs) < 59 || len(rs) > 61 {
		t.Fatalf("an hour at one report a minute gave %d readings", len(rs))
	}
	for i, r := range rs {
		if r.Battery == nil || r.RSSI == nil || r.HR != nil {
			t.Fatalf("reading %d: %+v; a pendant sends battery and rssi only", i, r)
		}
		if *r.RSSI > -30 || *r.RSSI < -120 {
			t.Errorf("rssi %v dBm", *r.RSSI)
		}
		if i > 0 && (r.TS-rs[i-1].TS != 60000 || *r.Battery > *rs[i-1].Battery) {
			t.Fatalf("reading %d at %d after %d, battery %v after %v", i, r.TS, rs[i-1].TS, *r.Battery, *rs[i-1].Battery)
		}
	}
	strictlyIncreasing(t, "readings", allSeqs(p.Take()))
}

func TestStatusAnnouncesHeartbeat(t *testing.T) {
	c := cfg("sos-0001", "sos_pendant")
	c.Every = 2 * time.Second // faster than the protocol's 10 s minimum
	up := decodeAll(t, NewPendant(c, 0).Up(t0))
	st := up[0].m.Status
	if !up[0].Retained || !st.Online || st.HeartbeatS != 10 || st.FW != DefaultFW || st.Seq == 0 {
		t.Errorf("status %+v retained=%v", st, up[0].Retained)
	}
}

func TestDeviceClocks(t *testing.T) {
	cases := []struct {
		name   string
		clock  Clock
		wantTS int64
	}{
		{"true clock", Clock{}, t0.UnixMilli()},
		{"fast by 90 s", Clock{Skew: 90 * time.Second}, t0.Add(90 * time.Second).UnixMilli()},
		{"slow by an hour", Clock{Skew: -time.Hour}, t0.Add(-time.Hour).UnixMilli()},
		{"no clock", Clock{None: true}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := cfg("sos-0001", "sos_pendant")
			conf.Clock = c.clock
			p := NewPendant(conf, 0)
			up := p.Up(t0)
			p.Press(t0)
			ms := append(up, p.Take()...)
			for _, d := range decodeAll(t, ms) {
				ts := d.m.Event.TS + d.m.Status.TS
				if ts != c.wantTS {
					t.Errorf("%s ts %d, want %d", d.Kind, ts, c.wantTS)
				}
				if c.clock.None && hasField(d.Payload, "ts") {
					t.Errorf("a device without a clock sent %s", d.Payload)
				}
			}
		})
	}
}

func TestOfflineKeepsAndReplays(t *testing.T) {
	p := NewPendant(cfg("sos-0001", "sos_pendant"), 0)
	connected(t, p)
	p.Tick(t0.Add(5 * time.Minute))
	live := p.Take()
	p.Down()
	p.Tick(t0.Add(10 * time.Minute))
	_, sos := p.Press(t0.Add(10*time.Minute + time.Second))
	p.Tick(t0.Add(20 * time.Minute))
	if kept := p.Take(); len(kept) != 0 {
		t.Fatalf("an offline device published %d messages", len(kept))
	}
	st := p.Stats()
	if st.KeptEvents != 1 || st.KeptReadings < 14 {
		t.Fatalf("kept %+v", st)
	}
	up := decodeAll(t, p.Up(t0.Add(20*time.Minute)))
	if up[0].Kind != protocol.KindStatus || up[1].m.Event.Seq != sos || !up[1].Replay {
		t.Fatalf("after reconnecting: %v; want the status, then the kept SOS", up[:2])
	}
	batch := up[2:]
	rs := readings(batch)
	if len(batch) != 1 || !batch[0].m.Telemetry.Batch || len(rs) != st.KeptReadings {
		t.Fatalf("replayed %d messages, %d readings; want one batch of %d", len(batch), len(rs), st.KeptReadings)
	}
	for _, r := range rs {
		if r.RSSI != nil {
			t.Fatalf("a reading taken without signal has rssi: %+v", r)
		}
	}
	strictlyIncreasing(t, "live then replayed readings", append(allSeqs(live), allSeqs(p.Take())...))
	strictlyIncreasing(t, "replayed batch", batch[0].Seqs)
}

func TestBufferIsBounded(t *testing.T) {
	c := cfg("bed-0001", "bed_sensor")
	c.KeepReadings = 5
	p := NewPendant(c, 0)
	p.Tick(t0.Add(30 * time.Minute)) // never connected: everything is kept
	p.Press(t0.Add(30 * time.Minute))
	ds := decodeAll(t, p.Up(t0.Add(31*time.Minute)))
	if rs := readings(ds); len(rs) != 5 || rs[0].TS < t0.Add(25*time.Minute).UnixMilli() {
		t.Fatalf("replayed %+v, want the newest 5 readings", rs)
	}
	if len(events(ds)) != 1 || p.Stats().Dropped < 25 {
		t.Errorf("events %v, stats %+v: want the SOS kept and the oldest readings dropped", events(ds), p.Stats())
	}
}

func TestClocklessDeviceReplaysOnlyEvents(t *testing.T) {
	c := cfg("smoke-0001", "smoke_detector")
	c.Clock.None = true
	a := NewAlarm(c)
	a.Tick(t0.Add(10 * time.Minute))
	a.Raise(t0.Add(10*time.Minute), protocol.EventSmoke)
	ds := decodeAll(t, a.Up(t0.Add(11*time.Minute)))
	if len(ds) != 2 || ds[1].m.Event.Type != protocol.EventSmoke || len(readings(ds)) != 0 {
		t.Fatalf("a clockless device replayed %v; want its status and the smoke event only", ds)
	}
}

func TestRebootContinuesSeqAndLosesRAM(t *testing.T) {
	c := cfg("sos-0001", "sos_pendant")
	c.SeqSaveEvery = 16
	p := NewPendant(c, 0)
	up := p.Up(t0)
	p.Tick(t0.Add(40 * time.Minute))
	before := append(up, p.Take()...)
	p.Down()
	p.Tick(t0.Add(45 * time.Minute))
	p.Reboot(t0.Add(45 * time.Minute))
	after := p.Up(t0.Add(46 * time.Minute))
	if len(after) != 1 {
		t.Fatalf("after a reboot the device replayed %d messages; its RAM buffer is gone", len(after)-1)
	}
	p.Press(t0.Add(46 * time.Minute))
	strictlyIncreasing(t, "seq across the reboot", append(allSeqs(before), allSeqs(append(after, p.Take()...))...))
	if s := p.Stats(); s.Reboots != 1 || s.Dropped == 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestLowBattery(t *testing.T) {
	c := cfg("sos-0001", "sos_pendant")
	c.Battery, c.DrainPerDay, c.Every = 16, 2, time.Hour
	p := NewPendant(c, 0)
	connected(t, p)
	p.Tick(t0.Add(72 * time.Hour))
	var low []protocol.Event
	for _, e := range events(decodeAll(t, p.Take())) {
		if e.Type == protocol.EventLowBattery {
			low = append(low, e)
		}
	}
	if len(low) != 1 || low[0].TS > t0.Add(13*time.Hour).UnixMilli() {
		t.Errorf("low_battery events %+v; want one, about 12 h in", low)
	}
}

func TestCommands(t *testing.T) {
	cases := []struct {
		name, payload string
		played        bool
		err           bool
	}{
		{"ack_feedback", `{"v":1,"type":"ack_feedback","alert":"A7K3","by":"village_doctor"}`, true, false},
		{"with text", `{"v":1,"type":"ack_feedback","text":"村医马上到"}`, true, false},
		{"unknown type", `{"v":1,"type":"reboot_now"}`, false, false},
		{"not json", `help`, false, true},
		{"wrong version", `{"v":2,"type":"ack_feedback"}`, false, true},
	}
	p := NewPendant(cfg("sos-0001", "sos_pendant"), 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := p.Command([]byte(c.payload), t0)
			if h.Played != c.played || (h.Err != nil) != c.err {
				t.Errorf("heard %+v", h)
			}
			var perr *protocol.Error
			if c.err && !errors.As(h.Err, &perr) {
				t.Errorf("error %v is not a protocol error", h.Err)
			}
		})
	}
	if got := p.Heard(); len(got) != len(cases) || got[0].Cmd.Alert != "A7K3" || !strings.Contains(got[1].Cmd.Text, "村医") {
		t.Errorf("heard %+v", got)
	}
}

func FuzzCommand(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"ack_feedback","alert":"A7K3","by":"village_doctor"}`))
	f.Add([]byte(`{"v":1,"type":"x","text":"\u00e9"}`))
	f.Add([]byte(`{}`))
	p := NewPendant(cfg("sos-0001", "sos_pendant"), 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		h := p.Command(b, t0)
		if h.Played && (h.Err != nil || h.Cmd.Type != protocol.CmdAckFeedback) {
			t.Fatalf("played %+v", h)
		}
	})
}
