package ingest

import (
	"hash/maphash"
	"sync"
)

// dedup remembers, per device, the highest seq seen and which of the window seqs
// below it were seen, like an anti-replay window. A seq older than the window is let
// through: the InfluxDB write of a message is idempotent, so a very late duplicate
// costs a rewrite of the same point, never a second one.
type dedup struct {
	window uint64
	seed   maphash.Seed
	shards [64]dedupShard
}

type dedupShard struct {
	mu      sync.Mutex
	devices map[string]*seqWindow
}

type seqWindow struct {
	high uint64   // highest seq seen
	bits []uint64 // bit i: seq high-i seen
	any  bool
}

func newDedup(window int) *dedup {
	d := &dedup{window: uint64(window), seed: maphash.MakeSeed()}
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
		w = &seqWindow{bits: make([]uint64, (d.window+63)/64)}
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
		w.clear(w.high - seq)
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
		shift := seq - w.high
		if !w.any {
			shift = window
		}
		w.shift(shift, window)
		w.high, w.any = seq, true
		w.set(0)
		return true
	case w.high-seq >= window:
		return true // older than the window: let through (see dedup)
	default:
		off := w.high - seq
		if w.get(off) {
			return false
		}
		w.set(off)
		return true
	}
}

// shift moves the window up by n seqs: bit i becomes bit i+n.
func (w *seqWindow) shift(n, window uint64) {
	if n >= window {
		clear(w.bits)
		return
	}
	words, bits := int(n/64), n%64
	for i := len(w.bits) - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w.bits[j] << bits
			if bits != 0 && j > 0 {
				v |= w.bits[j-1] >> (64 - bits)
			}
		}
		w.bits[i] = v
	}
}

func (w *seqWindow) get(off uint64) bool { return w.bits[off/64]&(1<<(off%64)) != 0 }
func (w *seqWindow) set(off uint64)      { w.bits[off/64] |= 1 << (off % 64) }
func (w *seqWindow) clear(off uint64)    { w.bits[off/64] &^= 1 << (off % 64) }
