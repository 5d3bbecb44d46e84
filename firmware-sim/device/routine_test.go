package device

import (
	"testing"
	"time"
)

func xinjiang(t *testing.T) *time.Location {
	t.Helper()
	z, err := Zone("Asia/Urumqi")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestRoutineDays(t *testing.T) {
	z := xinjiang(t)
	cases := []struct {
		name             string
		date             time.Time
		wakeFrom, wakeTo string // local clock
	}{
		{"winter: dawn about 07:10", time.Date(2026, 1, 15, 12, 0, 0, 0, z), "06:50", "08:00"},
		{"summer: dawn before 05:30", time.Date(2026, 6, 21, 12, 0, 0, 0, z), "05:20", "06:10"},
		{"equinox: dawn about 05:50", time.Date(2026, 3, 20, 12, 0, 0, 0, z), "05:35", "06:35"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(30) {
				d := NewRoutine(seed, "H-0001", z).Day(c.date)
				if w := d.Wake.In(z).Format("15:04"); w < c.wakeFrom || w > c.wakeTo {
					t.Errorf("seed %d: up at %s, want %s–%s", seed, w, c.wakeFrom, c.wakeTo)
				}
				if b := d.Bed.In(z).Format("15:04"); b < "21:30" || b > "23:00" {
					t.Errorf("seed %d: to bed at %s", seed, b)
				}
				if !d.NapFrom.IsZero() && (d.NapFrom.In(z).Hour() < 13 || d.NapTo.Sub(d.NapFrom) > 100*time.Minute) {
					t.Errorf("seed %d: nap %v–%v", seed, d.NapFrom, d.NapTo)
				}
				for _, tr := range d.Trips {
					if tr.From.Before(d.Bed.Add(time.Hour)) || tr.To.Sub(tr.From) > 12*time.Minute {
						t.Errorf("seed %d: night trip %v–%v after bed at %v", seed, tr.From, tr.To, d.Bed)
					}
				}
			}
		})
	}
}

func TestRoutineIsDeterministic(t *testing.T) {
	z := xinjiang(t)
	a, b, other := NewRoutine(1, "H-0001", z), NewRoutine(1, "H-0001", z), NewRoutine(1, "H-0002", z)
	differ := false
	for at := t0; at.Before(t0.Add(7 * 24 * time.Hour)); at = at.Add(7 * time.Minute) {
		inA, sleepA := a.At(at)
		inB, sleepB := b.At(at)
		if inA != inB || sleepA != sleepB {
			t.Fatalf("the same seed and elder differ at %v", at)
		}
		inO, _ := other.At(at)
		differ = differ || inO != inA
	}
	if !differ {
		t.Error("two elders keep exactly the same week")
	}
}

func TestRoutineInBed(t *testing.T) {
	z := xinjiang(t)
	r := NewRoutine(3, "H-0001", z)
	day := r.Day(time.Date(2026, 1, 15, 12, 0, 0, 0, z))
	cases := []struct {
		name          string
		at            time.Time
		inBed, asleep bool
	}{
		{"before dawn", day.Wake.Add(-time.Minute), true, true},
		{"after getting up", day.Wake.Add(time.Minute), false, false},
		{"late morning", time.Date(2026, 1, 15, 11, 0, 0, 0, z), false, false},
		{"just after bedtime", day.Bed.Add(time.Minute), true, true},
	}
	if !day.NapFrom.IsZero() {
		cases = append(cases, struct {
			name          string
			at            time.Time
			inBed, asleep bool
		}{"napping", day.NapFrom.Add(time.Minute), true, true})
	}
	for _, tr := range day.Trips {
		cases = append(cases, struct {
			name          string
			at            time.Time
			inBed, asleep bool
		}{"on a night trip", tr.From.Add(time.Minute), false, true})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, asleep := r.At(c.at)
			if in != c.inBed || in && asleep != c.asleep {
				t.Errorf("at %s: in bed %v, asleep %v", c.at.In(z).Format("15:04"), in, asleep)
			}
		})
	}
}
