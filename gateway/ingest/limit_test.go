package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/config"
	"carebed/gateway/points"
)

// TestDeviceLimit is issue 21, item 13: one device sending fresh 2,000-reading
// batches wrote 9.1 million points in 27 s. Messages and readings per device are
// limited; alarm events, their cancels and status messages never are.
func TestDeviceLimit(t *testing.T) {
	lim := DeviceLimit{MessagesPerMinute: 60, MessageBurst: 3, ReadingsPerMinute: 600, ReadingBurst: 10}
	reading := func(seq int) string { return fmt.Sprintf(`{"v":1,"seq":%d,"hr":60}`, seq) }
	batch := func(seq, n int) string {
		rs := make([]string, n)
		for i := range rs {
			rs[i] = fmt.Sprintf(`{"seq":%d,"hr":60}`, seq+i)
		}
		return `{"v":1,"batch":[` + strings.Join(rs, ",") + `]}`
	}
	event := func(seq int, typ string) string { return fmt.Sprintf(`{"v":1,"seq":%d,"type":%q}`, seq, typ) }
	type sent struct {
		after   time.Duration // since the start
		device  string
		kind    string
		payload string
	}
	cases := []struct {
		name        string
		msgs        []sent
		wantStored  int
		wantLimited int
	}{
		{"burst of messages, then one over", []sent{
			{0, "bed-0001", "telemetry", reading(1)}, {0, "bed-0001", "telemetry", reading(2)},
			{0, "bed-0001", "telemetry", reading(3)}, {0, "bed-0001", "telemetry", reading(4)},
		}, 3, 1},
		{"the bucket refills at the rate", []sent{
			{0, "bed-0001", "telemetry", reading(1)}, {0, "bed-0001", "telemetry", reading(2)},
			{0, "bed-0001", "telemetry", reading(3)}, {time.Second, "bed-0001", "telemetry", reading(4)},
			{time.Second, "bed-0001", "telemetry", reading(5)},
		}, 4, 1},
		{"a batch over the reading burst", []sent{{0, "bed-0001", "telemetry", batch(1, 11)}}, 0, 1},
		{"readings add up across batches", []sent{
			{0, "bed-0001", "telemetry", batch(1, 6)}, {0, "bed-0001", "telemetry", batch(7, 6)},
			{time.Minute, "bed-0001", "telemetry", batch(13, 6)},
		}, 2, 1},
		{"alarms, cancels and status always pass", []sent{
			{0, "bed-0001", "telemetry", reading(1)}, {0, "bed-0001", "telemetry", reading(2)},
			{0, "bed-0001", "telemetry", reading(3)}, {0, "bed-0001", "event", event(4, "sos")},
			{0, "bed-0001", "event", event(5, "sos_cancel")}, {0, "bed-0001", "event", event(6, "fall")},
			{0, "bed-0001", "event", event(7, "fall_cancel")}, {0, "bed-0001", "event", event(8, "smoke")},
			{0, "bed-0001", "event", event(9, "gas")}, {0, "bed-0001", "event", event(10, "water_leak")},
			{0, "bed-0001", "event", event(11, "tamper")}, {0, "bed-0001", "status", `{"v":1,"seq":12,"online":true}`},
			{0, "bed-0001", "status", `{"v":1,"online":false}`},
		}, 13, 0},
		{"events that page nobody at once count", []sent{
			{0, "bed-0001", "event", event(1, "bed_exit")}, {0, "bed-0001", "event", event(2, "bed_return")},
			{0, "bed-0001", "event", event(3, "low_battery")}, {0, "bed-0001", "event", event(4, "bed_exit")},
		}, 3, 1},
		{"visit taps count: a stuck card reader cannot flood the visits", []sent{
			{0, "bed-0001", "event", event(1, "visit")}, {0, "bed-0001", "event", event(2, "visit")},
			{0, "bed-0001", "event", event(3, "visit")}, {0, "bed-0001", "event", event(4, "visit")},
		}, 3, 1},
		{"redelivered duplicates take no tokens", []sent{
			{0, "bed-0001", "telemetry", reading(1)}, {0, "bed-0001", "telemetry", reading(2)},
			{0, "bed-0001", "telemetry", reading(3)}, {0, "bed-0001", "telemetry", reading(1)},
			{0, "bed-0001", "telemetry", reading(2)}, {0, "bed-0001", "telemetry", reading(3)},
			{time.Second, "bed-0001", "telemetry", reading(4)},
		}, 4, 0},
		{"a replayed batch counts only its new readings", []sent{
			{0, "bed-0001", "telemetry", batch(1, 8)}, {0, "bed-0001", "telemetry", batch(1, 10)},
		}, 2, 0},
		{"a limited message is not remembered: its redelivery is taken once tokens are back", []sent{
			{0, "bed-0001", "telemetry", batch(1, 10)}, {0, "bed-0001", "telemetry", batch(11, 5)},
			{30 * time.Second, "bed-0001", "telemetry", batch(11, 5)},
		}, 2, 1},
		{"each device has its own buckets", []sent{
			{0, "bed-0001", "telemetry", reading(1)}, {0, "bed-0001", "telemetry", reading(2)},
			{0, "bed-0001", "telemetry", reading(3)}, {0, "bed-0002", "telemetry", reading(1)},
		}, 4, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, dead := &fakeSpool{}, &fakeDead{}
			m := NewMetrics(prometheus.NewRegistry())
			h := NewHandler(Options{Directory: fakeDirectory{"bed-0001": {Device: "bed-0001"}, "bed-0002": {Device: "bed-0002"}},
				Spool: sp, DeadLetters: dead, Metrics: m, DeviceLimit: lim, Now: func() time.Time { return now }})
			for _, s := range c.msgs {
				in := Message{Topic: "carebed/v1/" + s.device + "/" + s.kind, Payload: []byte(s.payload), Received: now.Add(s.after)}
				if err := h.Handle(context.Background(), []Message{in}); err != nil {
					t.Fatal(err)
				}
			}
			if len(sp.recs) != c.wantStored {
				t.Errorf("stored %d messages, want %d", len(sp.recs), c.wantStored)
			}
			if n := testutil.ToFloat64(m.rejects.WithLabelValues(string(ReasonRateLimited))); n != float64(c.wantLimited) {
				t.Errorf("rate_limited rejects = %v, want %d", n, c.wantLimited)
			}
			if len(dead.entries) != c.wantLimited {
				t.Fatalf("dead-lettered %d, want %d", len(dead.entries), c.wantLimited)
			}
			for _, e := range dead.entries {
				if e.Reason != string(ReasonRateLimited) || !strings.Contains(e.Error, "ingest.device_limit") {
					t.Errorf("dead letter %+v lacks the reason and the limit", e)
				}
			}
		})
	}
}

// TestDeviceLimitStopsAFlood replays the attack with the gateway's default limits: a
// device sending fresh 2,000-reading batches, 40 a second for 27 s, may store no
// more than its burst and its rate allow, while its SOS still passes.
func TestDeviceLimitStopsAFlood(t *testing.T) {
	lim := DeviceLimit(config.Default().Ingest.DeviceLimit)
	sp, dead := &countingSpool{}, &fakeDead{}
	h := NewHandler(Options{Directory: fakeDirectory{"bed-0001": {Device: "bed-0001"}}, Spool: sp, DeadLetters: dead, DeviceLimit: lim})
	rs := make([]string, 2000)
	seq := 0
	for i := 0; i < 27*40; i++ {
		for j := range rs {
			seq++
			rs[j] = fmt.Sprintf(`{"seq":%d,"hr":60}`, seq)
		}
		at := now.Add(time.Duration(i) * 25 * time.Millisecond)
		in := Message{Topic: "carebed/v1/bed-0001/telemetry", Payload: []byte(`{"v":1,"batch":[` + strings.Join(rs, ",") + `]}`), Received: at}
		if err := h.Handle(context.Background(), []Message{in}); err != nil {
			t.Fatal(err)
		}
	}
	sos := Message{Topic: "carebed/v1/bed-0001/event", Payload: []byte(fmt.Sprintf(`{"v":1,"seq":%d,"type":"sos"}`, seq+1)), Received: now.Add(27 * time.Second)}
	if err := h.Handle(context.Background(), []Message{sos}); err != nil {
		t.Fatal(err)
	}
	if max := lim.ReadingBurst + 27*lim.ReadingsPerMinute/60 + 2000; sp.readings > max {
		t.Errorf("stored %d readings in 27 s, want at most %d", sp.readings, max)
	}
	if !sp.sawSOS {
		t.Error("the SOS was not stored")
	}
}

// countingSpool counts the readings of the records it is given, keeping none.
type countingSpool struct {
	readings int
	sawSOS   bool
}

func (s *countingSpool) AppendAsync(recs [][]byte, done func(error)) error {
	for _, r := range recs {
		rec, _ := points.ParseRecord(r)
		s.readings += strings.Count(string(rec.Lines), "telemetry,")
		s.sawSOS = s.sawSOS || strings.Contains(string(rec.Lines), "type=sos ")
	}
	done(nil)
	return nil
}
