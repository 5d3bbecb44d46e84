// Package inspect is the random inspection draw of "double random, one public"
// supervision (双随机、一公开): each month the county draws homes to inspect, weighted
// toward homes whose care looked weak that month (unconfirmed visits, overdue visits or
// rounds, alerts answered slowly), and assigns inspectors from a list, both from a
// published seed so that anyone can check the draw; the draw and the inspections'
// results are stored (inspect.db in the data folder) for the monthly report (Month).
//
// The draw, for a month M (YYYY-MM), a seed S (a decimal uint64) and N homes:
//
//  1. The homes in the registry (or one county's), sorted by home id, each with its
//     weight w = 1 + 2×unconfirmed + 3×overdue + 3×slow (Weight).
//  2. r := rand.New(rand.NewPCG(S, YYYYMM)) from math/rand/v2; YYYYMM is the month as
//     a number, e.g. 202611.
//  3. N times: u := r.Uint64N(total weight of the homes not drawn yet); the home drawn
//     is the first, in id order, whose running sum of weights exceeds u.
//  4. p := r.Perm(number of inspectors), the inspectors in the file's order; the k-th
//     home drawn (from 0) gets inspector p[k mod number of inspectors].
//
// The same homes, weights, inspectors, month and seed always give the same draw.
package inspect

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"carebed/gateway/registry"
)

// Facts are what a month showed of one home, and its weight in the draw.
type Facts struct {
	Place registry.Place
	// Unconfirmed counts the month's visits and rounds the home's sensors did not
	// confirm.
	Unconfirmed int
	// Overdue counts the kinds (visit, round) overdue at the month's end.
	Overdue int
	// Slow counts the month's alerts taken later than the target, or not taken.
	Slow int
}

// Weight is the home's weight: 1 + 2×Unconfirmed + 3×Overdue + 3×Slow.
func (f Facts) Weight() uint64 {
	return 1 + 2*uint64(f.Unconfirmed) + 3*uint64(f.Overdue) + 3*uint64(f.Slow)
}

// Inspector is one person on the list of inspectors.
type Inspector struct {
	Name string
	Unit string // the department or office; may be empty
}

// Month is a calendar month, YYYY-MM.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil {
		return Month{}, fmt.Errorf("%q is not a month YYYY-MM", s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// String writes YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Number is YYYYMM, the PCG's second seed word.
func (m Month) Number() uint64 { return uint64(m.Year)*100 + uint64(m.Month) }

// Bounds are the month's first instant and the next month's, in loc.
func (m Month) Bounds(loc *time.Location) (from, to time.Time) {
	from = time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 1, 0)
}

// ParseSeed reads a seed: a decimal uint64.
func ParseSeed(s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number from 0 to 18446744073709551615", s)
	}
	return v, nil
}

// Drawn is one home drawn, with its inspector.
type Drawn struct {
	Facts
	Inspector Inspector
}

// ErrTooMany: more homes asked for than there are.
var ErrTooMany = errors.New("more homes than there are")

// Draw draws n homes from facts and assigns inspectors (see the package comment).
// facts need not be sorted; inspectors are in the list's order.
func Draw(m Month, seed uint64, facts []Facts, inspectors []Inspector, n int) ([]Drawn, error) {
	if n < 1 || n > len(facts) {
		return nil, fmt.Errorf("%d homes: %w (%d)", n, ErrTooMany, len(facts))
	}
	if len(inspectors) == 0 {
		return nil, errors.New("no inspectors")
	}
	left := slices.Clone(facts)
	slices.SortFunc(left, func(a, b Facts) int { return cmp.Compare(a.Place.Home, b.Place.Home) })
	r := rand.New(rand.NewPCG(seed, m.Number()))
	out := make([]Drawn, 0, n)
	for range n {
		var total uint64
		for _, f := range left {
			total += f.Weight()
		}
		u := r.Uint64N(total)
		i := 0
		for sum := left[0].Weight(); sum <= u; sum += left[i].Weight() {
			i++
		}
		out = append(out, Drawn{Facts: left[i]})
		left = slices.Delete(left, i, i+1)
	}
	p := r.Perm(len(inspectors))
	for k := range out {
		out[k].Inspector = inspectors[p[k%len(inspectors)]]
	}
	return out, nil
}

// ParseInspectors reads the list of inspectors: one a line, "name" or "name,unit";
// blank lines and lines starting with # are skipped. A name twice is an error.
func ParseInspectors(text string) ([]Inspector, error) {
	var out []Inspector
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimPrefix(text, "\ufeff"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, unit, _ := strings.Cut(strings.ReplaceAll(line, "，", ","), ",")
		in := Inspector{Name: strings.TrimSpace(name), Unit: strings.TrimSpace(unit)}
		switch {
		case in.Name == "":
			return nil, fmt.Errorf("line %d: no name", i+1)
		case seen[in.Name]:
			return nil, fmt.Errorf("line %d: %s is on the list twice", i+1, in.Name)
		}
		seen[in.Name] = true
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, errors.New("no inspectors in the list")
	}
	return out, nil
}
