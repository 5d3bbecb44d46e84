package ingest

import (
	"math"
	"math/rand/v2"
	"testing"

	"carebed/gateway/protocol"
)

func TestDedup(t *testing.T) {
	const N, D, R = markNew, markDuplicate, markReset
	const top = math.MaxUint64
	cases := []struct {
		name string
		seqs []uint64
		want []mark
	}{
		{"increasing", []uint64{1, 2, 3}, []mark{N, N, N}},
		{"repeat", []uint64{5, 5}, []mark{N, D}},
		{"out of order inside window", []uint64{10, 8, 9, 8, 10}, []mark{N, N, N, D, D}},
		{"gap then old", []uint64{1, 500, 1, 2}, []mark{N, N, D, N}},
		{"older than window passes", []uint64{5000, 10, 10}, []mark{N, N, N}},
		{"big jump clears", []uint64{1, 100000, 1}, []mark{N, N, N}},
		{"zero first", []uint64{0, 0, 1}, []mark{N, D, N}},
		{"one", []uint64{1, 1}, []mark{N, D}},
		// One absurd seq must not switch the filter off: the next real seq resets the
		// window back, and its duplicates are caught (issue 21, item 8).
		{"2^64-1 then real seqs", []uint64{100, top, 101, 101, 101}, []mark{N, R, R, D, D}},
		{"2^64-1 twice", []uint64{100, top, top}, []mark{N, R, D}},
		{"2^63-1 then real", []uint64{7, math.MaxInt64, 8, 8}, []mark{N, R, R, D}},
		{"2^63 then real", []uint64{7, 1 << 63, 8, 8}, []mark{N, R, R, D}},
		{"absurd first (after a restart) then real", []uint64{top, 5, 5, 6}, []mark{N, R, D, N}},
		{"0 after 2^64-1", []uint64{top, 0, 0}, []mark{N, R, D}},
		{"2^64-1 after 0", []uint64{0, top, 0, 0}, []mark{N, R, R, D}},
		{"jump of exactly MaxSeqJump is the counter", []uint64{10, 10 + protocol.MaxSeqJump, 10 + protocol.MaxSeqJump}, []mark{N, N, D}},
		{"jump of MaxSeqJump+1 resets", []uint64{10, 11 + protocol.MaxSeqJump, 11 + protocol.MaxSeqJump}, []mark{N, R, D}},
		{"replay MaxSeqJump back passes", []uint64{10 + protocol.MaxSeqJump, 10, 10}, []mark{N, N, N}},
		{"top of the range counts up", []uint64{top - 2, top - 1, top, top - 1}, []mark{N, N, N, D}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDedup(1024)
			for i, s := range c.seqs {
				if got := d.mark("dev-1", s); got != c.want[i] {
					t.Errorf("mark #%d seq %d = %v, want %v", i, s, got, c.want[i])
				}
			}
		})
	}
}

func TestDedupForget(t *testing.T) {
	d := newDedup(64)
	d.mark("dev", 7)
	d.forget("dev", 7)
	if !d.mark("dev", 7).fresh() {
		t.Fatal("seq 7 after forget was reported as a duplicate")
	}
}

// TestDedupMatchesSet compares the window with a plain set over random traffic,
// with jumps that clear bits one by one and whole words at a time, and a window
// that is not a power of two (its ring is larger).
func TestDedupMatchesSet(t *testing.T) {
	for _, c := range []struct{ window, jump, back int }{{128, 40, 100}, {1000, 300, 900}} {
		d := newDedup(c.window)
		seen := map[uint64]bool{}
		var high uint64
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 20000; i++ {
			seq := high + uint64(r.IntN(c.jump))
			if r.IntN(3) == 0 && high > uint64(c.back) {
				seq = high - uint64(r.IntN(c.back)) // redelivery or reorder inside the window
			}
			want := !seen[seq]
			if got := d.mark("dev", seq).fresh(); got != want {
				t.Fatalf("window %d, step %d seq %d high %d: got %v want %v", c.window, i, seq, high, got, want)
			}
			seen[seq] = true
			high = max(high, seq)
		}
	}
}
