package ingest

import (
	"math/rand/v2"
	"testing"
)

func TestDedup(t *testing.T) {
	cases := []struct {
		name string
		seqs []uint64
		want []bool
	}{
		{"increasing", []uint64{1, 2, 3}, []bool{true, true, true}},
		{"repeat", []uint64{5, 5}, []bool{true, false}},
		{"out of order inside window", []uint64{10, 8, 9, 8, 10}, []bool{true, true, true, false, false}},
		{"gap then old", []uint64{1, 500, 1, 2}, []bool{true, true, false, true}},
		{"older than window passes", []uint64{5000, 10, 10}, []bool{true, true, true}},
		{"big jump clears", []uint64{1, 100000, 1}, []bool{true, true, true}},
		{"zero first", []uint64{0, 0, 1}, []bool{true, false, true}},
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
	if !d.mark("dev", 7) {
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
			if got := d.mark("dev", seq); got != want {
				t.Fatalf("window %d, step %d seq %d high %d: got %v want %v", c.window, i, seq, high, got, want)
			}
			seen[seq] = true
			high = max(high, seq)
		}
	}
}
