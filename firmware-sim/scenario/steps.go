package scenario

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"carebed/firmware-sim/simclock"
)

// Step is one instant of a scenario: an event's start, or the end of something
// that lasts. Do is the event's Do, or one of the follow-ups: sos_cancel (the
// second press), fall_cancel (the cancel press), power_back (the end of a power
// cut), signal_back (the end of an offline period). Anomalies and bed exits end by
// themselves (the bed sensor is told how long they last).
type Step struct {
	At            time.Duration
	Home, Village string
	Do            string
	For           time.Duration
	Kind          string
	// Text is what an sms step texts.
	Text string
}

// Follow-up steps.
const (
	SOSCancel  = "sos_cancel"
	FallCancel = "fall_cancel"
	PowerBack  = "power_back"
	SignalBack = "signal_back"
)

// Steps lists the scenario's steps in time order.
func (s Scenario) Steps() []Step {
	var out []Step
	for _, e := range s.Events {
		st := Step{At: e.At, Home: e.Home, Village: e.Village, Do: e.Do, For: e.For, Kind: e.Kind, Text: e.Text}
		if e.Do == "sms" && st.Text == "" {
			st.Text = DefaultSMSText
		}
		out = append(out, st)
		if f := followUp(e); f != "" {
			end := e.At + e.For + e.CancelAfter
			out = append(out, Step{At: end, Home: e.Home, Village: e.Village, Do: f})
		}
	}
	slices.SortStableFunc(out, func(a, b Step) int { return int(a.At - b.At) })
	return out
}

// followUp is the step that ends e, if any.
func followUp(e Event) string {
	switch {
	case e.Do == "sos" && e.CancelAfter > 0:
		return SOSCancel
	case e.Do == "fall" && e.CancelAfter > 0:
		return FallCancel
	case e.Do == "power_cut":
		return PowerBack
	case e.Do == "offline":
		return SignalBack
	}
	return ""
}

// Target does a scenario's steps in the simulated homes.
type Target interface {
	// Do does the step and says what was sent (Device, Type, Seq, Note, Err); a
	// zero Type means there was nothing to report.
	Do(s Step) Sent
}

// Sent is one step the run did.
type Sent struct {
	At     time.Duration
	Home   string // the home, or the village of a power cut
	Device string
	Type   string
	Seq    uint64
	// Note says more: a fall's confidence, a missed fall, the devices cut off.
	Note string
	Err  error
}

// Play does s's steps on clk, each when clk has moved At past the time Play was
// called, until ctx ends or the last step is done, and returns what was done.
func Play(ctx context.Context, s Scenario, clk simclock.Clock, t Target) []Sent {
	start := clk.Now()
	var sent []Sent
	for _, st := range s.Steps() {
		select {
		case <-ctx.Done():
			return sent
		case <-clk.Wait(start.Add(st.At)):
		}
		out := t.Do(st)
		if out.Type == "" {
			continue
		}
		out.At, out.Home = st.At, st.Home
		if st.Village != "" {
			out.Home = st.Village
		}
		sent = append(sent, out)
	}
	return sent
}

// Summary writes what a run did, a line per step.
func Summary(w io.Writer, sent []Sent) {
	ok := 0
	for _, s := range sent {
		status := fmt.Sprintf("seq %d", s.Seq)
		switch {
		case s.Err != nil:
			status = "FAILED: " + s.Err.Error()
		case s.Seq == 0:
			status = ""
			ok++
		default:
			ok++
		}
		if s.Note != "" {
			status += "  " + s.Note
		}
		fmt.Fprintf(w, "%8s  %-8s %-14s %-14s %s\n", s.At, s.Home, s.Device, s.Type, status)
	}
	fmt.Fprintf(w, "%d of %d scenario events sent\n", ok, len(sent))
}
