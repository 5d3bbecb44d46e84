package presence

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// spool is a fake spool that keeps the lines written.
type spool struct {
	lines     []string
	neverDone bool // the disk never answers
}

func (s *spool) AppendAsync(recs [][]byte, done func(error)) error {
	for _, r := range recs {
		lines, err := points.Lines(r)
		if err != nil {
			return err
		}
		s.lines = append(s.lines, strings.TrimSpace(string(lines)))
	}
	if !s.neverDone {
		done(nil)
	}
	return nil
}

// TestChanges: a message after a start, a Last Will, a message after it, then
// silence (3 heartbeats of 60 s in the township) each write one presence point;
// messages that change nothing write none.
func TestChanges(t *testing.T) {
	sp := &spool{}
	tr := New(Options{Spool: sp, Heartbeats: func(town string) int {
		if town != "巴伦台镇" {
			t.Errorf("heartbeats asked for %q", town)
		}
		return 3
	}})
	tags := points.Tags{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-1", Device: "bed-1", Kind: "bed_sensor"}
	t0 := time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC)
	tel := protocol.Message{Topic: protocol.Topic{Device: "bed-1", Kind: protocol.KindTelemetry}}
	status := func(online bool) protocol.Message {
		return protocol.Message{Topic: protocol.Topic{Device: "bed-1", Kind: protocol.KindStatus},
			Status: protocol.Status{Online: online, HeartbeatS: 60}}
	}
	at := func(d time.Duration) points.Stamp { return points.Stamp{Received: t0.Add(d)} }
	steps := []struct {
		name string
		do   func()
		want string // the new line, "" for none
	}{
		{"first message", func() { tr.Observe(context.Background(), status(true), tags, at(0)) }, "online=t,cause=\"status\""},
		{"telemetry while online", func() { tr.Observe(context.Background(), tel, tags, at(time.Minute)) }, ""},
		{"last will", func() { tr.Observe(context.Background(), status(false), tags, at(2*time.Minute)) }, "online=f,cause=\"status\""},
		{"tick while offline", func() { tr.Tick(t0.Add(time.Hour)) }, ""},
		{"message after", func() { tr.Observe(context.Background(), tel, tags, at(time.Hour)) }, "online=t,cause=\"message\""},
		{"tick within 3 heartbeats", func() { tr.Tick(t0.Add(time.Hour + 3*time.Minute)) }, ""},
		{"tick after 3 heartbeats", func() { tr.Tick(t0.Add(time.Hour + 3*time.Minute + time.Second)) }, "online=f,cause=\"silent\""},
		{"tick again", func() { tr.Tick(t0.Add(2 * time.Hour)) }, ""},
	}
	n := 0
	for _, s := range steps {
		s.do()
		switch {
		case s.want == "" && len(sp.lines) != n:
			t.Errorf("%s: wrote %q", s.name, sp.lines[n:])
		case s.want != "" && (len(sp.lines) != n+1 || !strings.Contains(sp.lines[n], " "+s.want+" ")):
			t.Errorf("%s: lines %q, want one with %s", s.name, sp.lines[n:], s.want)
		}
		n = len(sp.lines)
	}
	if len(sp.lines) != 4 {
		t.Fatalf("lines %q", sp.lines)
	}
	want := "presence,county=和静县,device=bed-1,home=H-1,kind=bed_sensor,township=巴伦台镇,village=巴伦台村 online=f,cause=\"silent\" " +
		"1793674860000000000" // 03:01 UTC: one heartbeat after it was last heard at 03:00
	if got := sp.lines[3]; got != want {
		t.Errorf("silent line\n%s\nwant\n%s", got, want)
	}
}

// TestObserveNeverWaitsForTheDisk: Observe runs on the ingest's one worker, so it
// hands presence points to the spool and goes on. When it waited for the fsync, a
// gateway restarted under 1,000 devices stalled its ingest for seconds (one group
// commit per device seen for the first time).
func TestObserveNeverWaitsForTheDisk(t *testing.T) {
	sp := &spool{neverDone: true}
	tr := New(Options{Spool: sp})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			dev := "bed-" + strconv.Itoa(i)
			tags := points.Tags{Township: "巴伦台镇", Home: "H-" + strconv.Itoa(i), Device: dev}
			msg := protocol.Message{Topic: protocol.Topic{Device: dev, Kind: protocol.KindTelemetry}}
			if err := tr.Observe(context.Background(), msg, tags, points.Stamp{Received: time.Now()}); err != nil {
				t.Error(err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Observe waited for the disk")
	}
	if len(sp.lines) != 1000 {
		t.Errorf("%d presence points spooled, want 1000 (each device's first message)", len(sp.lines))
	}
}
