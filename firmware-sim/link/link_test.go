package link

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/internal/watch"
	"carebed/firmware-sim/simclock"
	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
)

var t0 = time.Date(2026, 1, 15, 15, 0, 0, 0, time.UTC)

// online connects a model over a new link and waits until it is ready.
func online(t *testing.T, url string, m device.Model, clk simclock.Clock) *Link {
	t.Helper()
	l, err := New(m.Core(), Options{Broker: url, Clock: clk, Retry: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	watch.Until(t, 10*time.Second, m.Core().ID()+" online", func() (bool, string) { return l.Ready(), "" })
	return l
}

func pendant(id string, c device.Clock) *device.Pendant {
	return device.NewPendant(device.Config{ID: id, Kind: "sos_pendant", Start: t0, Every: time.Minute, Clock: c}, 0)
}

func TestPendantOverMosquitto(t *testing.T) {
	mq := devsvc.StartMosquitto(t)
	w := watch.Start(t, mq.URL)
	clk := simclock.NewManual(t0)
	p := pendant("sos-0001", device.Clock{})
	l := online(t, mq.URL, p, clk)

	p.Press(clk.Now())
	clk.Advance(10 * time.Second)
	p.Press(clk.Now()) // a double press: the wearer cancels
	l.Flush()
	watch.Until(t, 10*time.Second, "sos then sos_cancel", func() (bool, string) {
		ev := w.Events("sos-0001")
		return len(ev) == 2 && ev[0].Type == protocol.EventSOS && ev[1].Type == protocol.EventSOSCancel &&
			ev[1].Cancels == ev[0].Seq && ev[1].TS-ev[0].TS == 10000, fmt.Sprintf("%+v", ev)
	})
	first := w.Of("sos-0001")[0]
	if !first.Decoded.Status.Online || first.Decoded.Status.HeartbeatS != 60 {
		t.Errorf("first message %s; want the online status", first.Payload)
	}
	late := watch.Start(t, mq.URL) // subscribes after the fact: gets the retained status
	watch.Until(t, 10*time.Second, "the retained online status", func() (bool, string) {
		ms := late.Of("sos-0001")
		return len(ms) == 1 && ms[0].Retained && ms[0].Decoded.Status.Online, fmt.Sprint(ms)
	})

	w.Publish(t, protocol.DeviceTopic("sos-0001", protocol.KindCmd), []byte(`{"v":1,"type":"ack_feedback","alert":"A7K3","by":"village_doctor"}`))
	watch.Until(t, 10*time.Second, "ack_feedback played", func() (bool, string) {
		h := p.Heard()
		return len(h) == 1 && h[0].Played && h[0].Cmd.Alert == "A7K3" && h[0].Cmd.By == "village_doctor", fmt.Sprintf("%+v", h)
	})
}

func TestCutKeepsAndReplaysBatches(t *testing.T) {
	mq := devsvc.StartMosquitto(t)
	w := watch.Start(t, mq.URL)
	clk := simclock.NewManual(t0)
	b := device.NewBed(device.Config{ID: "bed-0001", Kind: "bed_sensor", Start: t0, Every: time.Minute}, device.BedConfig{})
	l := online(t, mq.URL, b, clk)

	l.Cut()
	// The broker's Last Will and the device's own notice of the loss come in either
	// order; the ticks below must find the device knowing it is offline.
	watch.Until(t, 10*time.Second, "the Last Will, and the device offline", func() (bool, string) {
		ms := w.Of("bed-0001")
		if len(ms) == 0 {
			return false, "nothing yet"
		}
		last := ms[len(ms)-1]
		down := !l.Ready() && !b.Stats().Connected
		return bytes.Equal(last.Payload, []byte(`{"v":1,"online":false}`)) && down,
			fmt.Sprintf("%s, device offline: %v", last.Payload, down)
	})
	before := len(w.Of("bed-0001"))
	for range 10 { // ten minutes without signal, a tick a minute
		clk.Advance(time.Minute)
		b.Tick(clk.Now())
		l.Flush()
	}
	if st := b.Stats(); st.KeptReadings < 9 || st.Connected || len(w.Of("bed-0001")) != before {
		t.Fatalf("offline: %+v; the watcher saw %d new messages", st, len(w.Of("bed-0001"))-before)
	}
	l.Restore()
	// The watcher may see the replay before the device has its PUBACK and counts it.
	watch.Until(t, 10*time.Second, "online again and the replay", func() (bool, string) {
		ms := w.Of("bed-0001")[before:]
		return len(ms) >= 2 && ms[1].Decoded.Telemetry.Batch && l.Stats().Replayed == 1,
			fmt.Sprint(len(ms), " messages, ", l.Stats())
	})
	ms := w.Of("bed-0001")[before:]
	if !ms[0].Decoded.Status.Online {
		t.Errorf("after the cut the device first said %s", ms[0].Payload)
	}
	rs := ms[1].Decoded.Telemetry.Readings
	for i := 1; i < len(rs); i++ {
		if rs[i].Seq <= rs[i-1].Seq || rs[i].TS <= rs[i-1].TS {
			t.Fatalf("batch reading %d: seq %d ts %d after seq %d ts %d", i, rs[i].Seq, rs[i].TS, rs[i-1].Seq, rs[i-1].TS)
		}
	}
	if len(rs) < 9 || rs[0].TS < t0.UnixMilli() || l.Stats().Replayed != 1 || l.Stats().Connects != 2 {
		t.Errorf("replayed %d readings, stats %+v", len(rs), l.Stats())
	}
}

func TestRebootContinuesSeq(t *testing.T) {
	mq := devsvc.StartMosquitto(t)
	w := watch.Start(t, mq.URL)
	clk := simclock.NewManual(t0)
	p := device.NewPendant(device.Config{ID: "sos-0002", Kind: "sos_pendant", Start: t0, Every: time.Minute, SeqSaveEvery: 8}, 0)
	l := online(t, mq.URL, p, clk)
	clk.Advance(20 * time.Minute)
	p.Tick(clk.Now())
	l.Flush()
	watch.Until(t, 10*time.Second, "20 minutes of reports", func() (bool, string) {
		return len(w.Of("sos-0002")) >= 21, fmt.Sprint(len(w.Of("sos-0002")))
	})
	if err := l.Reboot(context.Background()); err != nil {
		t.Fatal(err)
	}
	watch.Until(t, 10*time.Second, "online after the reboot", func() (bool, string) { return l.Ready(), "" })
	p.Press(clk.Now())
	l.Flush()
	watch.Until(t, 10*time.Second, "the SOS after the reboot", func() (bool, string) {
		return len(w.Events("sos-0002")) == 1, ""
	})
	var seqs []uint64
	for _, m := range w.Of("sos-0002") {
		if s := m.Decoded.Status; m.Decoded.Topic.Kind == protocol.KindStatus && !s.Online {
			continue // the Last Will has no seq
		}
		seqs = append(seqs, m.Decoded.Event.Seq+m.Decoded.Status.Seq+telemetrySeq(m))
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("seq %d after %d across the reboot: %v", seqs[i], seqs[i-1], seqs)
		}
	}
	if p.Stats().Reboots != 1 || len(seqs) < 20 {
		t.Errorf("stats %+v, %d messages", p.Stats(), len(seqs))
	}
}

func telemetrySeq(m watch.Message) uint64 {
	if rs := m.Decoded.Telemetry.Readings; len(rs) > 0 {
		return rs[0].Seq
	}
	return 0
}

func TestClocks(t *testing.T) {
	mq := devsvc.StartMosquitto(t)
	w := watch.Start(t, mq.URL)
	clk := simclock.NewManual(t0)
	cases := []struct {
		id    string
		clock device.Clock
		want  int64
	}{
		{"sos-true", device.Clock{}, t0.UnixMilli()},
		{"sos-skewed", device.Clock{Skew: -3 * time.Minute}, t0.Add(-3 * time.Minute).UnixMilli()},
		{"sos-clockless", device.Clock{None: true}, 0},
	}
	for _, c := range cases {
		p := pendant(c.id, c.clock)
		l := online(t, mq.URL, p, clk)
		p.Press(clk.Now())
		l.Flush()
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			watch.Until(t, 10*time.Second, "the SOS", func() (bool, string) { return len(w.Events(c.id)) == 1, "" })
			for _, m := range w.Of(c.id) {
				ts := m.Decoded.Event.TS + m.Decoded.Status.TS
				if ts != c.want || c.clock.None && bytes.Contains(m.Payload, []byte(`"ts"`)) {
					t.Errorf("%s: ts %d, want %d", m.Payload, ts, c.want)
				}
			}
		})
	}
}
