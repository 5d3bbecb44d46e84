package device

import (
	"slices"

	"carebed/gateway/protocol"
)

// BatchReadings is the most readings a replayed batch carries: a reading takes at
// most 280 bytes, so 200 stay well under protocol.MaxBatchSize. Readings with a
// position (up to 390 bytes) are cut sooner, by size (Batches).
const BatchReadings = 200

// maxEvents bounds the events a device keeps while offline; past it the oldest goes.
const maxEvents = 256

// buffer is what a device keeps while it cannot reach the broker: its events and, up
// to a bound, its readings (the oldest reading goes first when it is full).
type buffer struct {
	maxReadings int
	readings    []protocol.Reading
	events      []protocol.Event
	dropped     int // readings and events dropped because the buffer was full
}

func (b *buffer) addReading(r protocol.Reading) {
	if len(b.readings) >= b.maxReadings {
		b.readings, b.dropped = b.readings[1:], b.dropped+1
	}
	b.readings = append(b.readings, r)
}

func (b *buffer) addEvent(e protocol.Event) {
	if len(b.events) >= maxEvents {
		b.events, b.dropped = b.events[1:], b.dropped+1
	}
	b.events = append(b.events, e)
}

// take empties the buffer, oldest first (by seq: messages given back after a failed
// publish may come in late).
func (b *buffer) take() ([]protocol.Event, []protocol.Reading) {
	ev, rs := b.events, b.readings
	b.events, b.readings = nil, nil
	slices.SortFunc(ev, func(x, y protocol.Event) int { return cmpSeq(x.Seq, y.Seq) })
	slices.SortFunc(rs, func(x, y protocol.Reading) int { return cmpSeq(x.Seq, y.Seq) })
	return ev, rs
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// batchOverhead is what a batch adds around its readings: {"v":1,"batch":[ ]} and
// a comma per reading.
const batchOverhead = len(`{"v":1,"batch":[]}`)

// Batches cuts readings into batches of at most BatchReadings, each within
// protocol.MaxBatchSize, in order.
func Batches(rs []protocol.Reading) [][]protocol.Reading {
	var out [][]protocol.Reading
	for len(rs) > 0 {
		n, size := 0, batchOverhead
		for n < min(len(rs), BatchReadings) {
			l := len(protocol.EncodeReading(rs[n])) + 1
			if n > 0 && size+l > protocol.MaxBatchSize {
				break
			}
			n, size = n+1, size+l
		}
		out = append(out, rs[:n:n])
		rs = rs[n:]
	}
	return out
}
