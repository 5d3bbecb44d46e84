package ingest

import (
	"hash/maphash"
	"math/bits"
	"sync"
)

// dedup remembers, per device, the highest seq seen and which of the window seqs
// below it were seen, like an anti-replay window. A seq older than the window is let
// through: the InfluxDB write of a message is idempotent, so a very late duplicate
// costs a rewrite of the same point, never a second one.
type dedup struct {
	window uint64
	words  int // of each device's ring
	seed   maphash.Seed
	shards [64]dedupShard
}

type dedupShard struct {
	mu      sync.Mutex
	devices map[string]*seqWindow
}

// seqWindow is one device's window: a ring of bits, seq s at bit s mod the ring's
// size (a power of two, at least the window), so moving up by one seq clears one bit
// instead of shifting the whole window.
type seqWindow struct {
	high uint64   // highest seq seen
	bits []uint64 // the ring
	any  bool
}

func newDedup(window int) *dedup {
	d := &dedup{window: uint64(window), seed: maphash.MakeSeed()}
	d.words = max(1, 1<<bits.Len(uint(window-1))/64)
	for i := range d.shards {
		d.shards[i].devices = make(map[string]*seqWindow)
	}
	return d
}

func (d *dedup) shard(device string) *dedupShard {
	return &d.shards[maphash.String(d.seed, device)%uint64(len(d.shards))]
}

// mark records seq for device and reports whether it was new.
func (d *dedup) mark(device string, seq uint64) bool {
	sh := d.shard(device)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	w := sh.devices[device]
	if w == nil {
		w = &seqWindow{bits: make([]uint64, d.words)}
		sh.devices[device] = w
	}
	return w.mark(seq, d.window)
}

// forget undoes a mark whose message could not be handed off, so a redelivery of it
// is taken in.
func (d *dedup) forget(device string, seq uint64) {
	sh := d.shard(device)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if w := sh.devices[device]; w != nil && seq <= w.high && w.high-seq < d.window {
		w.clear(seq)
	}
}

// devices reports how many devices the filter has seen.
func (d *dedup) devices() int {
	n := 0
	for i := range d.shards {
		d.shards[i].mu.Lock()
		n += len(d.shards[i].devices)
		d.shards[i].mu.Unlock()
	}
	return n
}

func (w *seqWindow) mark(seq, window uint64) bool {
	switch {
	case !w.any || seq > w.high:
		w.advance(seq, window)
		w.high, w.any = seq, true
		w.set(seq)
		return true
	case w.high-seq >= window:
		return true // older than the window: let through (see dedup)
	case w.get(seq):
		return false
	default:
		w.set(seq)
		return true
	}
}

// advance forgets the seqs that fall out of the window as high moves up to seq:
// their bits are those of the seqs from high+1 to seq, a word at a time where it can.
func (w *seqWindow) advance(seq, window uint64) {
	if !w.any || seq-w.high >= window {
		clear(w.bits)
		return
	}
	for s := w.high + 1; s <= seq; {
		i, b := w.at(s)
		if b == 1 && seq-s >= 63 { // s..s+63 are one word of the ring
			w.bits[i] = 0
			s += 64
			continue
		}
		w.bits[i] &^= b
		s++
	}
}

func (w *seqWindow) at(seq uint64) (word int, bit uint64) {
	i := seq & (uint64(len(w.bits))*64 - 1)
	return int(i / 64), 1 << (i % 64)
}

func (w *seqWindow) get(seq uint64) bool { i, b := w.at(seq); return w.bits[i]&b != 0 }
func (w *seqWindow) set(seq uint64)      { i, b := w.at(seq); w.bits[i] |= b }
func (w *seqWindow) clear(seq uint64)    { i, b := w.at(seq); w.bits[i] &^= b }
