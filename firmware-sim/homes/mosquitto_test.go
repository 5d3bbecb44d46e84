package homes

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"carebed/firmware-sim/internal/watch"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
)

// world runs four homes on a manual clock against a real Mosquitto and plays
// testdata/world.yml, moving the clock five seconds at a time.
type world struct {
	h    *Homes
	w    *watch.Watcher
	clk  *simclock.Manual
	sent []scenario.Sent
	step time.Duration // how far drive moves the clock at a time (default 5 s)
}

func startWorld(t *testing.T) *world {
	t.Helper()
	mq := devsvc.StartMosquitto(t)
	wd := &world{w: watch.Start(t, mq.URL), clk: simclock.NewManual(t0)}
	b, err := os.ReadFile("testdata/world.yml")
	if err != nil {
		t.Fatal(err)
	}
	sc := parse(t, string(b))
	h, err := New(Options{Broker: mq.URL, Ledger: ledger(t, 4), Scenario: sc, Clock: wd.clk, Every: time.Minute,
		Step: 5 * time.Second, Retry: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wd.h = h
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	})
	watch.Until(t, 20*time.Second, "every device online", func() (bool, string) { return h.Ready(), "" })
	played := make(chan []scenario.Sent, 1)
	go func() { played <- scenario.Play(ctx, sc, wd.clk, h) }()
	wd.drive(t, sc.Duration, played)
	return wd
}

// drive moves the clock in steps, each once the runner and the player (until it
// has finished) sleep on it, until the scenario is played and a minute more.
func (wd *world) drive(t *testing.T, d time.Duration, played <-chan []scenario.Sent) {
	t.Helper()
	for end := wd.clk.Now().Add(d + time.Minute); wd.clk.Now().Before(end); {
		watch.Until(t, 20*time.Second, "the simulation to sleep on the clock", func() (bool, string) {
			select {
			case wd.sent = <-played:
				played = nil
			default:
			}
			want := 2
			if played == nil {
				want = 1
			}
			return wd.clk.Waiting() >= want, fmt.Sprint(wd.clk.Now(), wd.clk.Waiting())
		})
		wd.clk.Advance(cmp.Or(wd.step, 5*time.Second))
	}
	if played != nil {
		t.Fatal("the scenario did not finish")
	}
}

func TestWorldOverMosquitto(t *testing.T) {
	wd := startWorld(t)
	for _, s := range wd.sent {
		if s.Err != nil {
			t.Errorf("scenario step %+v failed", s)
		}
	}
	t.Run("pendant double press", func(t *testing.T) {
		watch.Until(t, 10*time.Second, "sos then sos_cancel", func() (bool, string) {
			ev := wd.w.Events("h00001-sos")
			return len(ev) == 2 && ev[0].Type == protocol.EventSOS && ev[1].Type == protocol.EventSOSCancel &&
				ev[1].Cancels == ev[0].Seq && ev[1].TS-ev[0].TS == 10000, fmt.Sprintf("%+v", ev)
		})
	})
	t.Run("fall detected then cancelled, skewed clock", wd.checkFall)
	t.Run("offline home replays batches", wd.checkOffline)
	t.Run("clockless bed sends no ts", func(t *testing.T) {
		ms := wd.w.Of("h00004-bed")
		if len(ms) < 10 {
			t.Fatalf("%d messages", len(ms))
		}
		for _, m := range ms {
			if bytes.Contains(m.Payload, []byte(`"ts"`)) {
				t.Fatalf("a device without a clock sent %s", m.Payload)
			}
		}
	})
	t.Run("high heart rate", func(t *testing.T) {
		from, to := t0.Add(3*time.Minute+10*time.Second).UnixMilli(), t0.Add(13*time.Minute).UnixMilli()
		n := 0
		for _, m := range wd.w.Of("h00001-bed") {
			for _, r := range m.Decoded.Telemetry.Readings {
				if r.TS > from && r.TS < to && (r.HR == nil || *r.HR <= 130 || !*r.Occupied) {
					t.Errorf("reading during the anomaly: %s", m.Payload)
				}
				if r.TS > from && r.TS < to {
					n++
				}
			}
		}
		if n < 9 {
			t.Errorf("%d readings during ten minutes at one a minute", n)
		}
	})
	t.Run("ack_feedback heard", func(t *testing.T) {
		wd.w.Publish(t, protocol.DeviceTopic("h00002-fall", protocol.KindCmd), []byte(`{"v":1,"type":"ack_feedback","alert":"B2C4","by":"family"}`))
		watch.Until(t, 10*time.Second, "the wearable to play ack_feedback", func() (bool, string) {
			h := wd.h.Model("h00002-fall").Core().Heard()
			return len(h) == 1 && h[0].Played && h[0].Cmd.By == "family", fmt.Sprintf("%+v", h)
		})
	})
}

// checkFall: the scenario's fall went out with the detector's confidence and the
// device clock 90 s slow, and its cancel names it; any other fall (the detector
// taking a hard sit-down for a fall) was cancelled by the unhurt wearer.
func (wd *world) checkFall(t *testing.T) {
	var fall scenario.Sent
	for _, s := range wd.sent {
		if s.Home == "H-00002" && s.Type == "fall" {
			fall = s
		}
	}
	ev := eventsOf(wd.w.Events("h00002-fall"), protocol.EventFall, protocol.EventFallCancel)
	cancelled := map[uint64]bool{}
	for _, e := range ev {
		cancelled[e.Cancels] = true
	}
	found := false
	for _, e := range ev {
		if e.Type != protocol.EventFall {
			continue
		}
		if !cancelled[e.Seq] || e.Confidence == nil || *e.Confidence < 0.5 {
			t.Errorf("fall %+v not cancelled or without confidence", e)
		}
		if e.Seq == fall.Seq {
			found = true
			if at := time.UnixMilli(e.TS); at.After(t0.Add(time.Minute-90*time.Second)) || at.Before(t0.Add(time.Minute-90*time.Second-8*time.Second)) {
				t.Errorf("the fall's ts %v is not the fall's time on a clock 90 s slow", at)
			}
		}
	}
	if !found {
		t.Errorf("the scenario's fall (%+v) is not among the events %+v", fall, ev)
	}
	st := wd.w.Of("h00002-sos")[0].Decoded.Status
	if st.TS != t0.Add(-90*time.Second).UnixMilli() {
		t.Errorf("first status ts %d, want the start on a clock 90 s slow", st.TS)
	}
}

// checkOffline: each device of the offline home left a Last Will, came back with its
// status, then replayed the readings of the ten minutes as batches of growing seq.
func (wd *world) checkOffline(t *testing.T) {
	for _, id := range []string{"h00003-sos", "h00003-fall", "h00003-bed"} {
		var replayed []uint64
		watch.Until(t, 15*time.Second, id+" back with its replay", func() (bool, string) {
			var will, back bool
			replayed = replayed[:0]
			for _, m := range wd.w.Of(id) {
				switch {
				case bytes.Equal(m.Payload, []byte(`{"v":1,"online":false}`)):
					will = true
				case will && m.Decoded.Status.Online:
					back = true
				case back && m.Decoded.Telemetry.Batch:
					for _, r := range m.Decoded.Telemetry.Readings {
						replayed = append(replayed, r.Seq)
					}
				}
			}
			return will && back && len(replayed) >= 9, fmt.Sprintf("Last Will %v, back online %v, %d readings replayed", will, back, len(replayed))
		})
		for i := 1; i < len(replayed); i++ {
			if replayed[i] <= replayed[i-1] {
				t.Errorf("%s: replayed seq %d after %d", id, replayed[i], replayed[i-1])
			}
		}
	}
}
