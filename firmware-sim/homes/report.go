package homes

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"carebed/firmware-sim/fleet"
)

// Totals are what the devices of one kind did in a run.
type Totals struct {
	Kind                                 string
	Devices                              int
	Published, Acked, Failed, Replayed   int64
	Reconnects, Reboots, Dropped, Played int
}

// Totals returns what the devices did so far, by kind.
func (h *Homes) Totals() []Totals {
	by := map[string]*Totals{}
	for _, u := range h.units {
		t := by[u.row.Kind]
		if t == nil {
			t = &Totals{Kind: u.row.Kind}
			by[u.row.Kind] = t
		}
		ls, fs := u.link.Stats(), u.model.Core().Stats()
		t.Devices++
		t.Published, t.Acked, t.Failed, t.Replayed = t.Published+ls.Published, t.Acked+ls.Acked, t.Failed+ls.Failed, t.Replayed+ls.Replayed
		t.Reconnects += int(max(0, ls.Connects-1))
		t.Reboots += fs.Reboots
		t.Dropped += fs.Dropped
		for _, heard := range u.model.Core().Heard() {
			if heard.Played {
				t.Played++
			}
		}
	}
	for _, p := range h.phones {
		t := by[fleet.SMSPhone]
		if t == nil {
			t = &Totals{Kind: fleet.SMSPhone}
			by[fleet.SMSPhone] = t
		}
		t.Devices++
		for _, s := range p.Sent() {
			t.Published++
			if s.Status/100 == 2 {
				t.Acked++
			} else {
				t.Failed++
			}
		}
	}
	var out []Totals
	for _, t := range by {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Totals) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}

// Report writes the totals, a line per kind.
func (h *Homes) Report(w io.Writer) {
	fmt.Fprintf(w, "%-15s %7s %9s %9s %6s %8s %10s %7s %7s %12s\n", "kind", "devices", "published", "acked",
		"failed", "replayed", "reconnects", "reboots", "dropped", "ack_feedback")
	for _, t := range h.Totals() {
		fmt.Fprintf(w, "%-15s %7d %9d %9d %6d %8d %10d %7d %7d %12d\n", t.Kind, t.Devices, t.Published, t.Acked,
			t.Failed, t.Replayed, t.Reconnects, t.Reboots, t.Dropped, t.Played)
	}
}
