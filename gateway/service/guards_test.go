package service

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/gateway/config"
	"carebed/gateway/protocol"
)

// TestIngestGuardsThroughMosquitto sends what issue 21 found through a real
// Mosquitto into a real InfluxDB, beside good traffic:
//   - item 8: after seq 2^64-1, seq 101 sent three times is stored once;
//   - item 9: a reading and an SOS dated 2300 and at 2^63-1 ms are stored at their
//     arrival, flagged ts_invalid, and the SOS pages now;
//   - item 13: one device flooding telemetry is held to its limit, its flood is
//     dead-lettered as rate_limited, its SOS still raises an alert, and another
//     device's readings are all stored.
func TestIngestGuardsThroughMosquitto(t *testing.T) {
	e := newEnv(t, false)
	e.cfg.Ingest.DeviceLimit = config.DeviceLimit{MessagesPerMinute: 60, MessageBurst: 20,
		ReadingsPerMinute: 6000, ReadingBurst: 4096}
	devices := deviceIDs("bed", 3)
	e.registerVillages(devices, 1) // one home per village: the SOS alerts do not meet
	r := e.start()
	c := publishClient(t, e.mq.URL, "guards")
	now := time.Now()
	reading := func(seq uint64, ts int64) []byte {
		return protocol.EncodeReading(protocol.Reading{Seq: seq, TS: ts, HR: f64(70)})
	}
	tel := func(d string) string { return protocol.DeviceTopic(d, protocol.KindTelemetry) }
	ev := func(d string) string { return protocol.DeviceTopic(d, protocol.KindEvent) }

	// Item 8: a wild seq does not switch the duplicate filter off.
	publish(t, c, tel("bed-0001"), reading(1, now.UnixMilli()))
	publish(t, c, tel("bed-0001"), reading(math.MaxUint64, now.UnixMilli()))
	for range 3 {
		publish(t, c, tel("bed-0001"), reading(101, 0)) // no clock: a duplicate would be a second point
	}
	// Item 9: times InfluxDB cannot hold.
	year2300 := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	publish(t, c, tel("bed-0002"), reading(1, year2300))
	publish(t, c, ev("bed-0002"), protocol.EncodeEvent(protocol.Event{Seq: 2, TS: math.MaxInt64, Type: protocol.EventSOS}))
	// Item 13: a flood of 40 messages against a burst of 20, then an SOS.
	for seq := uint64(1); seq <= 40; seq++ {
		publish(t, c, tel("bed-0003"), reading(seq, now.UnixMilli()))
	}
	publish(t, c, ev("bed-0003"), protocol.EncodeEvent(protocol.Event{Seq: 41, TS: now.UnixMilli(), Type: protocol.EventSOS}))

	waitFor(t, 20*time.Second, "the flood's rejects counted", func() (bool, string) {
		n := metric(t, r.reg, "carebed_ingest_rejects_total", map[string]string{"reason": "rate_limited"})
		return n >= 15, fmt.Sprint(n)
	})
	seqs := func(device string) map[int64]int {
		out := map[int64]int{}
		for _, row := range e.influx.Query(t, `SELECT seq FROM telemetry WHERE device = '`+device+`'`) {
			n, _ := row[1].(json.Number).Int64()
			out[n]++
		}
		return out
	}
	waitFor(t, 20*time.Second, "bed-0001's readings in InfluxDB", func() (bool, string) {
		s := seqs("bed-0001")
		return s[1] == 1 && s[-1] == 1 && s[101] >= 1, fmt.Sprint(s)
	})
	if s := seqs("bed-0001"); s[101] != 1 || len(s) != 3 {
		t.Errorf("bed-0001 stored seqs %v; want 1, 2^64-1 (as -1) and 101 once each", s)
	}
	if n := metric(t, r.reg, "carebed_ingest_seq_resets_total", nil); n < 1 {
		t.Errorf("carebed_ingest_seq_resets_total = %v, want the wild seq counted", n)
	}

	waitFor(t, 20*time.Second, "bed-0002's reading stored at its arrival", func() (bool, string) {
		rows := e.influx.Query(t, `SELECT seq, ts_invalid FROM telemetry WHERE device = 'bed-0002'`)
		return len(rows) == 1, fmt.Sprint(rows)
	})
	row := e.influx.Query(t, `SELECT seq, ts_invalid FROM telemetry WHERE device = 'bed-0002'`)[0]
	ms, err := row[0].(json.Number).Int64() // epoch ms
	at := time.UnixMilli(ms)
	if err != nil || at.Before(now.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) || row[2] != true {
		t.Errorf("bed-0002's reading at %v (%v), ts_invalid %v; want its arrival, flagged", at, err, row[2])
	}
	if n := metric(t, r.reg, "carebed_ingest_invalid_ts_total", nil); n < 2 {
		t.Errorf("carebed_ingest_invalid_ts_total = %v, want the reading and the SOS", n)
	}

	sos := func(home string) (bool, string) {
		all, err := r.g.alerts.List(context.Background(), alerting.Filter{})
		if err != nil {
			return false, err.Error()
		}
		for _, a := range all {
			if a.Kind == alerting.KindSOS && a.Place.Home == home {
				return a.EventAt.After(now.Add(-time.Minute)) && a.EventAt.Before(time.Now().Add(time.Minute)),
					fmt.Sprintf("SOS of %s dated %v", home, a.EventAt)
			}
		}
		return false, "no SOS alert for " + home
	}
	waitFor(t, 20*time.Second, "the SOS with a wild clock raised now", func() (bool, string) { return sos("H-00001") })
	waitFor(t, 20*time.Second, "the flooding device's SOS raised", func() (bool, string) { return sos("H-00002") })
	if s := seqs("bed-0003"); len(s) > 25 || len(s) < 15 {
		t.Errorf("the flooding device stored %d of its 40 readings; want about its burst of 20", len(s))
	}
}
