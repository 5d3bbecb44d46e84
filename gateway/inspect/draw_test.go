package inspect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"carebed/gateway/registry"
)

var nov = Month{2026, 11}

func home(id string, unconfirmed, overdue, slow int) Facts {
	return Facts{Place: registry.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: id},
		Unconfirmed: unconfirmed, Overdue: overdue, Slow: slow}
}

func TestWeight(t *testing.T) {
	for _, c := range []struct {
		f    Facts
		want uint64
	}{
		{home("H-1", 0, 0, 0), 1},
		{home("H-1", 1, 0, 0), 3},
		{home("H-1", 0, 1, 0), 4},
		{home("H-1", 0, 2, 0), 7},
		{home("H-1", 0, 0, 1), 4},
		{home("H-1", 2, 1, 3), 1 + 4 + 3 + 9},
	} {
		if got := c.f.Weight(); got != c.want {
			t.Errorf("%+v: weight %d, want %d", c.f, got, c.want)
		}
	}
}

// TestDrawReproducible: the same inputs and seed give the same draw, whatever order
// the homes come in; the draw follows the package comment's steps exactly (a
// re-implementation from the text agrees); another seed or month gives another draw.
func TestDrawReproducible(t *testing.T) {
	var facts []Facts
	for i := range 40 {
		facts = append(facts, home(fmt.Sprintf("H-%04d", i), i%3, i%2, i%5/4))
	}
	ins := []Inspector{{"张三", "民政局"}, {"李四", "卫健委"}, {"王五", ""}}
	a, err := Draw(nov, 20261130, facts, ins, 10)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(facts)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b, _ := Draw(nov, 20261130, shuffled, ins, 10)
	if !slices.Equal(a, b) {
		t.Errorf("the homes' order changed the draw:\n%v\n%v", a, b)
	}
	if want := byTheBook(nov, 20261130, facts, ins, 10); !slices.Equal(a, want) {
		t.Errorf("the draw is not the documented one:\n got %v\nwant %v", a, want)
	}
	seen := map[string]bool{}
	for _, d := range a {
		if seen[d.Place.Home] {
			t.Errorf("%s drawn twice", d.Place.Home)
		}
		seen[d.Place.Home] = true
	}
	if c, _ := Draw(nov, 20261131, facts, ins, 10); slices.Equal(a, c) {
		t.Error("another seed gave the same draw")
	}
	if c, _ := Draw(Month{2026, 12}, 20261130, facts, ins, 10); slices.Equal(a, c) {
		t.Error("another month gave the same draw")
	}
	// A published example, to check an implementation against.
	got := make([]string, 0, 3)
	small, _ := Draw(nov, 42, facts[:5], ins, 3)
	for _, d := range small {
		got = append(got, d.Place.Home+":"+d.Inspector.Name)
	}
	if s := strings.Join(got, " "); s != "H-0003:王五 H-0004:李四 H-0000:张三" {
		t.Errorf("seed 42, 2026-11, H-0000…H-0004: %s", s)
	}
}

// byTheBook draws as the package comment says, written out separately.
func byTheBook(m Month, seed uint64, facts []Facts, ins []Inspector, n int) []Drawn {
	homes := slices.Clone(facts)
	slices.SortFunc(homes, func(a, b Facts) int { return strings.Compare(a.Place.Home, b.Place.Home) })
	r := rand.New(rand.NewPCG(seed, uint64(m.Year*100+int(m.Month))))
	var out []Drawn
	for range n {
		var total uint64
		for _, h := range homes {
			total += 1 + 2*uint64(h.Unconfirmed) + 3*uint64(h.Overdue) + 3*uint64(h.Slow)
		}
		u := r.Uint64N(total)
		var sum uint64
		for i, h := range homes {
			sum += 1 + 2*uint64(h.Unconfirmed) + 3*uint64(h.Overdue) + 3*uint64(h.Slow)
			if sum > u {
				out = append(out, Drawn{Facts: h})
				homes = append(homes[:i:i], homes[i+1:]...)
				break
			}
		}
	}
	p := r.Perm(len(ins))
	for k := range out {
		out[k].Inspector = ins[p[k%len(ins)]]
	}
	return out
}

// TestDrawWeighting draws one home of several over 3000 seeds: each is drawn in
// proportion to its weight (the seeds are fixed, so the counts are too).
func TestDrawWeighting(t *testing.T) {
	facts := []Facts{home("H-1", 0, 0, 0), home("H-2", 1, 0, 0), home("H-3", 0, 1, 1), home("H-4", 0, 0, 0)}
	ins := []Inspector{{Name: "张三"}}
	var total uint64
	for _, f := range facts {
		total += f.Weight() // 1, 3, 7, 1: 12
	}
	const runs = 3000
	count := map[string]int{}
	for seed := range uint64(runs) {
		d, err := Draw(nov, seed, facts, ins, 1)
		if err != nil {
			t.Fatal(err)
		}
		count[d[0].Place.Home]++
	}
	for _, f := range facts {
		want := float64(runs) * float64(f.Weight()) / float64(total)
		if got := float64(count[f.Place.Home]); got < want*0.85 || got > want*1.15 {
			t.Errorf("%s (weight %d) drawn %v times in %d, want about %.0f", f.Place.Home, f.Weight(), got, runs, want)
		}
	}
	// Drawing every home leaves none out.
	all, err := Draw(nov, 7, facts, ins, len(facts))
	if err != nil || len(all) != 4 {
		t.Fatalf("all: %v %v", all, err)
	}
	if _, err := Draw(nov, 7, facts, ins, 5); err == nil {
		t.Error("5 homes of 4 drawn")
	}
	if _, err := Draw(nov, 7, facts, nil, 1); err == nil {
		t.Error("a draw without inspectors")
	}
}

func TestParseInspectors(t *testing.T) {
	got, err := ParseInspectors("\ufeff# 2026年11月\n张三,县民政局\n\n李四，县卫健委\n 王五 \n")
	if want := []Inspector{{"张三", "县民政局"}, {"李四", "县卫健委"}, {"王五", ""}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %v %v", got, err)
	}
	for text, want := range map[string]string{
		"张三\n张三,民政局\n": "line 2: 张三 is on the list twice",
		"# nobody\n":   "no inspectors in the list",
		",民政局\n":       "line 1: no name",
	} {
		if _, err := ParseInspectors(text); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", text, err, want)
		}
	}
}

// FuzzParseInspectors: any file gives a list of named, distinct inspectors or an
// error, never a panic.
func FuzzParseInspectors(f *testing.F) {
	for _, s := range []string{"张三,县民政局\n李四\n", "# x\n\n", "\ufeff王五，卫健委\r\n", ",\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ins, err := ParseInspectors(text)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, in := range ins {
			if in.Name == "" || seen[in.Name] {
				t.Fatalf("%q: %v", text, ins)
			}
			seen[in.Name] = true
		}
	})
}
