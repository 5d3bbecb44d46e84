package digest

import (
	"testing"
	"time"

	"carebed/alerting/policy"
)

// readings makes readings every step from from to to, occupied where occ says.
func readings(from, to time.Time, step time.Duration, occ func(time.Time) bool) []Reading {
	var out []Reading
	for t := from; t.Before(to); t = t.Add(step) {
		out = append(out, Reading{At: t, Occupied: occ(t)})
	}
	return out
}

// TestNight computes one night's time in bed, whether it was measured and the
// rising, from readings as a bed sensor sends them.
func TestNight(t *testing.T) {
	start, end := bj(22, 20, 0), bj(23, 10, 0)
	inBed := func(from, to time.Time) func(time.Time) bool {
		return func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	}
	cases := []struct {
		name     string
		rs       []Reading
		measured bool
		inBed    time.Duration
		rose     time.Time
	}{
		{"22:00 to 07:10, a reading a minute",
			readings(start, end, time.Minute, inBed(bj(22, 22, 0), bj(23, 7, 10))), true, 9*time.Hour + 10*time.Minute, bj(23, 7, 10)},
		{"a reading every 10 minutes", readings(start, end, 10*time.Minute, inBed(bj(22, 22, 0), bj(23, 7, 10))),
			true, 9*time.Hour + 10*time.Minute, bj(23, 7, 10)},
		{"up at 02:10 for 8 minutes: not the rising",
			readings(start, end, time.Minute, func(t time.Time) bool {
				return inBed(bj(22, 22, 0), bj(23, 6, 30))(t) && !inBed(bj(23, 2, 10), bj(23, 2, 18))(t)
			}), true, 8*time.Hour + 22*time.Minute, bj(23, 6, 30)},
		{"up at 05:00 for 20 minutes, then at 06:40",
			readings(start, end, time.Minute, func(t time.Time) bool {
				return inBed(bj(22, 22, 0), bj(23, 6, 40))(t) && !inBed(bj(23, 5, 0), bj(23, 5, 20))(t)
			}), true, 8*time.Hour + 20*time.Minute, bj(23, 6, 40)},
		{"no readings", nil, false, 0, time.Time{}},
		{"readings half an hour apart: gaps, not measured",
			readings(start, end, 30*time.Minute, inBed(bj(22, 22, 0), bj(23, 7, 0))), false, 0, time.Time{}},
		{"offline from 01:00: a third of the night",
			readings(start, bj(23, 1, 0), time.Minute, inBed(bj(22, 22, 0), bj(23, 7, 0))), false, 3*time.Hour - time.Minute, time.Time{}},
		{"never left the bed", readings(start, end, time.Minute, func(time.Time) bool { return true }),
			true, 14*time.Hour - time.Minute, time.Time{}},
		{"data ends at 07:10 as the bed is left: the rising is not shown",
			readings(start, bj(23, 7, 15), time.Minute, inBed(bj(22, 22, 0), bj(23, 7, 10))), true, 9*time.Hour + 10*time.Minute, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := night(start, end, c.rs)
			if n.Measured != c.measured || n.InBed != c.inBed || !n.Rose.Equal(c.rose) {
				t.Errorf("got measured %v, in bed %v, rose %v; want %v, %v, %v", n.Measured, n.InBed, n.Rose, c.measured, c.inBed, c.rose)
			}
		})
	}
}

func TestWeekFigures(t *testing.T) {
	w := Week{Loc: beijing, Nights: fullNights(bj(23, 7, 0), bj(24, 6, 40), bj(25, 7, 20), time.Time{}, bj(27, 9, 0))}
	w.Nights[6].Measured = false
	w.Nights[6].InBed = 20 * time.Hour // not counted
	w.Nights[5].InBed = 8 * time.Hour
	if got, want := w.AverageInBed(), 7*time.Hour+10*time.Minute; got != want {
		t.Errorf("AverageInBed = %v, want %v", got, want)
	}
	if r, ok := w.UsualRising(); !ok || r != 7*time.Hour+10*time.Minute { // median of 06:40 07:00 07:20 09:00
		t.Errorf("UsualRising = %v %v, want 7h10m", r, ok)
	}
	w.Nights = fullNights(bj(23, 7, 0), bj(24, 6, 40))
	if _, ok := w.UsualRising(); ok {
		t.Error("two risings make a usual time")
	}
}

func TestWeekBoundsAndNights(t *testing.T) {
	from, to := weekBounds(bj(29, 19, 0), beijing)
	if !from.Equal(bj(22, 0, 0)) || !to.Equal(bj(29, 0, 0)) {
		t.Errorf("week %v – %v", from, to)
	}
	starts := nightStarts(from)
	if len(starts) != 7 || !starts[0].Equal(bj(21, 20, 0)) || !nightEnd(starts[6]).Equal(bj(28, 10, 0)) {
		t.Errorf("nights %v … %v", starts[0], nightEnd(starts[6]))
	}
	night := policy.Default().RulesFor("", "").Night // 21:00–06:00
	exits := []time.Time{bj(22, 20, 30), bj(23, 2, 10), bj(23, 5, 59), bj(23, 6, 0), bj(24, 23, 0)}
	if n := countBedExits(exits, night); n != 3 {
		t.Errorf("%d night-time bed exits, want 3", n)
	}
}
