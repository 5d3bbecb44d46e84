// Package scenario scripts what happens in simulated homes: a YAML file of timed
// events ("at 30s home H-0012 presses SOS", "at 1m home H-0040 falls and cancels
// 5 s later") played on top of the homes' normal reports.
package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is a scripted run.
type Scenario struct {
	Name string `yaml:"name"`
	// Duration is how long the run lasts (at least until the last event).
	Duration time.Duration `yaml:"duration"`
	Events   []Event       `yaml:"events"`
}

// Event is one thing that happens in a home at a time from the start.
type Event struct {
	At   time.Duration `yaml:"at"`
	Home string        `yaml:"home"`
	// Do is what happens: sos, fall, bed_exit, smoke, gas, water_leak, tamper in a
	// home, or power_cut in a village.
	Do string `yaml:"do"`
	// CancelAfter, for sos and fall, presses cancel this long after (0: no cancel).
	CancelAfter time.Duration `yaml:"cancel_after"`
	// Village and For, for power_cut: every device of the village is cut off for
	// that long, then reconnects and replays what it kept.
	Village string        `yaml:"village"`
	For     time.Duration `yaml:"for"`
}

// device is which of the home's devices does each thing.
var device = map[string]string{"sos": "sos_pendant", "fall": "fall_sensor", "bed_exit": "bed_sensor",
	"smoke": "smoke_detector", "gas": "gas_detector", "water_leak": "water_sensor", "tamper": "sos_pendant"}

// Parse reads a scenario strictly: unknown keys and bad values are errors that name
// the key (events[2].do).
func Parse(b []byte) (Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return s, fmt.Errorf("scenario: %w", err)
	}
	for i, e := range s.Events {
		if err := e.check(); err != nil {
			return s, fmt.Errorf("scenario: events[%d].%w", i, err)
		}
		s.Duration = max(s.Duration, e.At+e.CancelAfter+e.For+time.Second)
	}
	slices.SortStableFunc(s.Events, func(a, b Event) int { return int(a.At - b.At) })
	return s, nil
}

func (e Event) check() error {
	if e.Do == "power_cut" {
		switch {
		case e.Village == "":
			return errors.New("village: a power cut needs the village")
		case e.For <= 0:
			return errors.New("for: a power cut needs a positive duration")
		}
		return nil
	}
	switch {
	case e.Home == "":
		return errors.New("home: missing")
	case device[e.Do] == "":
		return fmt.Errorf("do: %q is not sos, fall, bed_exit, smoke, gas, water_leak or tamper", e.Do)
	case e.At < 0:
		return errors.New("at: negative")
	case e.CancelAfter < 0 || e.CancelAfter > 0 && e.Do != "sos" && e.Do != "fall":
		return errors.New("cancel_after: only sos and fall can be cancelled, after a positive time")
	}
	return nil
}

// Injector publishes an event from a device, as that device (its connection, its
// next seq).
type Injector interface {
	Event(device, eventType string, cancels uint64) (seq uint64, err error)
	PowerCut(devices []string, d time.Duration) error
}

// Homes maps a home and a device kind to the device id (from the ledger).
type Homes func(home, kind string) (string, bool)

// Villages lists the devices of a village (from the ledger).
type Villages func(village string) []string

// Sent is one event the run published.
type Sent struct {
	At     time.Duration
	Home   string
	Device string
	Type   string
	Seq    uint64
	Err    error
}

// Run plays s from now until ctx ends or the last event was sent, and returns what
// it sent. An event whose home has no device for it is reported with an error.
func Run(ctx context.Context, s Scenario, homes Homes, villages Villages, inj Injector) []Sent {
	start := time.Now()
	type pending struct {
		at                time.Duration
		home, typ, device string
		cut               []string
		cutFor            time.Duration
	}
	var queue []pending
	for _, e := range s.Events {
		if e.Do == "power_cut" {
			queue = append(queue, pending{at: e.At, home: e.Village, typ: e.Do, device: "village",
				cut: villages(e.Village), cutFor: e.For})
			continue
		}
		dev, ok := homes(e.Home, device[e.Do])
		p := pending{at: e.At, home: e.Home, typ: e.Do, device: dev}
		if !ok {
			p.device = ""
		}
		queue = append(queue, p)
		if e.CancelAfter > 0 {
			queue = append(queue, pending{at: e.At + e.CancelAfter, home: e.Home, typ: e.Do + "_cancel", device: p.device})
		}
	}
	slices.SortStableFunc(queue, func(a, b pending) int { return int(a.at - b.at) })
	var sent []Sent
	last := map[string]uint64{} // home/type -> seq, for cancels
	for _, p := range queue {
		select {
		case <-ctx.Done():
			return sent
		case <-time.After(time.Until(start.Add(p.at))):
		}
		out := Sent{At: p.at, Home: p.home, Device: p.device, Type: p.typ}
		if p.typ == "power_cut" {
			out.Err = inj.PowerCut(p.cut, p.cutFor)
			if out.Err == nil && len(p.cut) == 0 {
				out.Err = fmt.Errorf("village %s has no devices", p.home)
			}
			sent = append(sent, out)
			continue
		}
		if p.device == "" {
			out.Err = fmt.Errorf("home %s has no device for %s", p.home, p.typ)
			sent = append(sent, out)
			continue
		}
		base, _ := strings.CutSuffix(p.typ, "_cancel")
		out.Seq, out.Err = inj.Event(p.device, p.typ, last[p.home+"/"+base])
		if out.Err == nil && p.typ == base {
			last[p.home+"/"+base] = out.Seq
		}
		sent = append(sent, out)
	}
	return sent
}

// Summary writes what a run sent, a line per event.
func Summary(w io.Writer, sent []Sent) {
	ok := 0
	for _, s := range sent {
		status := fmt.Sprintf("seq %d", s.Seq)
		if s.Err != nil {
			status = "FAILED: " + s.Err.Error()
		} else {
			ok++
		}
		fmt.Fprintf(w, "%8s  %-8s %-14s %-12s %s\n", s.At, s.Home, s.Device, s.Type, status)
	}
	fmt.Fprintf(w, "%d of %d scenario events sent\n", ok, len(sent))
}
