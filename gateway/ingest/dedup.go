package ingest

import (
	"hash/maphash"
	"math/bits"
	"sync"

	"carebed/gateway/protocol"
)

// dedup remembers, per device, the highest seq seen and which of the window seqs
// below it were seen, like an anti-replay window. A seq older than the window is let
// through: the InfluxDB write of a message is idempotent, so a very late duplicate
// costs a rewrite of the same point, never a second one.
//
// A seq more than protocol.MaxSeqJump away from the highest, ahead or behind, is no
// plausible step of the device's counter (which only goes up, by small gaps, across
// reboots): the window is reset to it, and the reset is reported. Without that one
// absurd seq (2^64-1) would move the window so far up that every later real seq is
// "older than the window" and let through, duplicates too, for good. With it the next
// real seq resets the window back, and duplicates of it are caught again. Nothing is
// dropped for a reset, so an SOS with an absurd seq still raises its alert.
type dedup struct {
	limit  DeviceLimit // the per-device rate limits; zero: none
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
	high    uint64   // highest seq seen
	bits    []uint64 // the ring
	any     bool
	buckets *deviceBuckets // the device's rate limits (limit.go)
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

// mark records seq for device and reports whether it was new, or new and far from
// the window (which it reset).
func (d *dedup) mark(device string, seq uint64) mark {
	sh := d.shard(device)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.window(device, d.words).mark(seq, d.window)
}

// window returns device's entry, made on first use; the caller holds sh.mu.
func (sh *dedupShard) window(device string, words int) *seqWindow {
	w := sh.devices[device]
	if w == nil {
		w = &seqWindow{bits: make([]uint64, words)}
		sh.devices[device] = w
	}
	return w
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

// mark is what the duplicate filter makes of a seq.
type mark uint8

const (
	markDuplicate mark = iota // seen before: drop
	markNew                   // not seen before: take
	markReset                 // not seen before, and so far from the window that it reset it: take
)

// fresh reports whether the message is to be taken.
func (m mark) fresh() bool { return m != markDuplicate }

func (w *seqWindow) mark(seq, window uint64) mark {
	switch {
	case w.any && farFrom(seq, w.high):
		clear(w.bits)
		w.high = seq
		w.set(seq)
		return markReset
	case !w.any || seq > w.high:
		w.advance(seq, window)
		w.high, w.any = seq, true
		w.set(seq)
		return markNew
	case w.high-seq >= window:
		return markNew // older than the window: let through (see dedup)
	case w.get(seq):
		return markDuplicate
	default:
		w.set(seq)
		return markNew
	}
}

// farFrom reports whether seq is more than protocol.MaxSeqJump from high, either way.
func farFrom(seq, high uint64) bool {
	if seq > high {
		return seq-high > protocol.MaxSeqJump
	}
	return high-seq > protocol.MaxSeqJump
}

// advance forgets the seqs that fall out of the window as high moves up to seq:
// their bits are those of the seqs from high+1 to seq, a word at a time where it can.
// It counts the seqs left rather than comparing with seq, which would never end when
// seq is 2^64-1.
func (w *seqWindow) advance(seq, window uint64) {
	if !w.any || seq-w.high >= window {
		clear(w.bits)
		return
	}
	s := w.high + 1
	for n := seq - w.high; n > 0; {
		i, b := w.at(s)
		if b == 1 && n >= 64 { // s..s+63 are one word of the ring
			w.bits[i] = 0
			s, n = s+64, n-64
			continue
		}
		w.bits[i] &^= b
		s, n = s+1, n-1
	}
}

func (w *seqWindow) at(seq uint64) (word int, bit uint64) {
	i := seq & (uint64(len(w.bits))*64 - 1)
	return int(i / 64), 1 << (i % 64)
}

func (w *seqWindow) get(seq uint64) bool { i, b := w.at(seq); return w.bits[i]&b != 0 }
func (w *seqWindow) set(seq uint64)      { i, b := w.at(seq); w.bits[i] |= b }
func (w *seqWindow) clear(seq uint64)    { i, b := w.at(seq); w.bits[i] &^= b }

// copySet remembers the events a Copy stored first, until their other copy comes.
// Bounded: forgotten entries (an other copy that never came) only make a later
// duplicate count.
type copySet struct {
	mu   sync.Mutex
	keys map[seqKey]struct{}
}

// maxCopies bounds a copySet; events are rare, and the other copy comes within
// seconds.
const maxCopies = 4096

func (c *copySet) add(device string, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= maxCopies {
		c.keys = map[seqKey]struct{}{}
	}
	c.keys[seqKey{device, seq}] = struct{}{}
}

// took reports whether a Copy stored the event first, and forgets it.
func (c *copySet) took(device string, seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := seqKey{device, seq}
	_, ok := c.keys[k]
	delete(c.keys, k)
	return ok
}
