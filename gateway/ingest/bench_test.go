package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"carebed/gateway/config"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// nopObserver is alerting that has nothing to say.
type nopObserver struct{}

func (nopObserver) Observe(context.Context, protocol.Message, points.Tags, points.Stamp) error {
	return nil
}

// nopSpool takes records and reports them durable at once.
type nopSpool struct{}

func (nopSpool) AppendAsync(_ [][]byte, done func(error)) error { done(nil); return nil }

// benchHandler is a Handler of devices bed sensors (bed-00000 and up), with a spool
// that takes everything at once and, as the gateway runs it, every message going
// past the alert rules (a no-op here).
func benchHandler(devices int) *Handler {
	dir := fakeDirectory{}
	for i := range devices {
		id := fmt.Sprintf("bed-%05d", i)
		dir[id] = points.Tags{County: "和静县", Township: "巴润哈尔莫敦镇", Village: "村01", Home: "H-0001", Device: id, Kind: "bed_sensor"}
	}
	return NewHandler(Options{Directory: dir, Spool: nopSpool{}, DeadLetters: &fakeDead{}, LateAfter: time.Minute,
		DeviceLimit: DeviceLimit(config.Default().Ingest.DeviceLimit), Observer: nopObserver{}})
}

// BenchmarkHandle measures the gateway's own work per message, without MQTT or disk:
// decode, registry lookup, duplicate filter, line protocol, record framing, metrics,
// the hand-over to the alert rules (a no-op here).
func BenchmarkHandle(b *testing.B) {
	h := benchHandler(1000)
	const batch = 256
	msgs := make([]Message, batch)
	hr, rr, batt, rssi, occ := 62.0, 14.0, 90.0, -70.0, true
	n := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := range msgs {
			n++ // 1,000 devices in turn, each counting its own seq
			id, seq := fmt.Sprintf("bed-%05d", n%1000), n/1000+1
			msgs[i] = Message{Topic: protocol.DeviceTopic(id, protocol.KindTelemetry), Received: time.Now(),
				Payload: protocol.EncodeReading(protocol.Reading{Seq: seq, TS: time.Now().UnixMilli(), HR: &hr, RR: &rr, Battery: &batt, RSSI: &rssi, Occupied: &occ})}
		}
		b.StartTimer()
		if err := h.Handle(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
}

// BenchmarkHandleBatch is BenchmarkHandle for the protocol batches a device replays
// after a gap (a township coming back after a power cut): 200 readings a message.
func BenchmarkHandleBatch(b *testing.B) {
	h := benchHandler(100)
	const perBatch, batch = 200, 16
	msgs := make([]Message, batch)
	hr, occ := 62.0, true
	seqs := map[string]uint64{}
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := range msgs {
			n++
			id := fmt.Sprintf("bed-%05d", n%100)
			rs := make([]protocol.Reading, perBatch)
			for j := range rs {
				seqs[id]++
				rs[j] = protocol.Reading{Seq: seqs[id], TS: time.Now().UnixMilli() - int64(perBatch-j)*60_000, HR: &hr, Occupied: &occ}
			}
			msgs[i] = Message{Topic: protocol.DeviceTopic(id, protocol.KindTelemetry), Received: time.Now(), Payload: protocol.EncodeBatch(rs)}
		}
		b.StartTimer()
		if err := h.Handle(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch*perBatch), "ns/reading")
}
