package link

import "sync/atomic"

// Stats counts a link's traffic.
type Stats struct {
	// Published messages were handed to the client; Acked got their PUBACK; Failed
	// did not (they went back to the firmware to be sent again).
	Published, Acked, Failed int64
	// Replayed are the kept events and batches sent after reconnecting.
	Replayed int64
	// Connects counts successful connections, the first included.
	Connects int64
}

type counters struct {
	published, acked, failed, replayed, connects atomic.Int64
}

// Stats returns the link's counts so far.
func (l *Link) Stats() Stats {
	s := &l.stats
	return Stats{Published: s.published.Load(), Acked: s.acked.Load(), Failed: s.failed.Load(),
		Replayed: s.replayed.Load(), Connects: s.connects.Load()}
}
