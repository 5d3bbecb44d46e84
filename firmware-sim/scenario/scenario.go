// Package scenario scripts what happens in simulated homes: a YAML file of timed
// events ("at 30s home H-0012 presses SOS and presses again 10 s later", "at 1m
// home H-0040 falls and cancels 5 s later", "at 2m home H-0007 loses its signal for
// 10m", "at 45s village 巴伦台村 has a power cut for 10m", "at 3m the bed sensor of
// H-0013 sees a high heart rate for 10m") and the settings of the simulated world
// (seed, time zone, start time, speed, device clocks, device models). Play runs the
// steps on a simulated clock against the device models; Run plays the raw events
// through a fleet.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/falldetect"
)

// Scenario is a scripted run.
type Scenario struct {
	Name string `yaml:"name"`
	// Duration is how long the run lasts, in simulated time (at least until the
	// last event has ended).
	Duration time.Duration `yaml:"duration"`
	// Seed makes the homes' routines, signal and movements (default 1).
	Seed uint64 `yaml:"seed"`
	// Zone is the elders' time zone (default Asia/Urumqi, Xinjiang time).
	Zone string `yaml:"zone"`
	// Start is the local time of day the simulated run begins, "HH:MM" ("": now).
	Start string `yaml:"start"`
	// Speed is how many simulated seconds pass per real second (default 1).
	Speed float64 `yaml:"speed"`
	// Clocks sets device clocks by home or device id: a skew such as "+90s" or
	// "-5m", or "none" for devices without a clock.
	Clocks map[string]string `yaml:"clocks"`
	// Devices tunes the device models.
	Devices Devices `yaml:"devices"`
	// Herders places the herds of homes that move with them (ledger 流动 是), by
	// home: the summer pasture and, to keep the herd there (or at home) whatever
	// the date, the season. A mobile home without an entry gets a pasture from the
	// seed, 25 to 45 km west of home, and moves by the calendar.
	Herders map[string]Herder `yaml:"herders"`
	Events  []Event           `yaml:"events"`

	clocks map[string]device.Clock
	herds  map[string]herdSetting
}

// Herder is where a herding home's herd goes.
type Herder struct {
	// Pasture is the summer pasture, "lat,lon" in WGS-84 degrees.
	Pasture string `yaml:"pasture"`
	// Season keeps the herd on the pasture ("summer") or at the winter quarters
	// ("winter"); "" follows the calendar (up on 1 June, down on 20 September).
	Season string `yaml:"season"`
	// Coverage is "gaps" (default: away from home, one gap of 1 to 4 hours in every
	// 6) or "always" (no gaps but the scenario's offline events).
	Coverage string `yaml:"coverage"`
}

type herdSetting struct {
	pasture    device.LatLon
	hasPasture bool
	season     string
	noGaps     bool
}

// Devices tunes the device models; zero values keep the models' defaults.
type Devices struct {
	// SOSCancelWindow: a second press of a pendant this soon cancels its SOS (30s).
	SOSCancelWindow time.Duration `yaml:"sos_cancel_window"`
	// ActivitiesPerHour: how often a wearer's movements wake the fall sensor (4).
	ActivitiesPerHour float64 `yaml:"activities_per_hour"`
	// FalseAlarmCancel: how long after a false fall alarm the unhurt wearer
	// presses cancel (10s).
	FalseAlarmCancel time.Duration `yaml:"false_alarm_cancel"`
	// KeepReadings bounds the readings a device keeps while offline (1000).
	KeepReadings int `yaml:"keep_readings"`
}

// Event is one thing that happens at a time from the start.
type Event struct {
	At   time.Duration `yaml:"at"`
	Home string        `yaml:"home"`
	// Do is what happens (see the tables in docs/firmware-sim.md): an event of one
	// of the home's devices (sos, fall, bed_exit, smoke, gas, water_leak, tamper),
	// an anomaly its bed sensor sees (high_hr, low_hr, no_heart_rate, no_movement,
	// long_bed_exit), offline (the home loses its signal) or reboot (its devices
	// restart) in a home, or power_cut in a village.
	Do string `yaml:"do"`
	// CancelAfter, for sos and fall, presses again (sos) or presses cancel (fall)
	// this long after (0: no cancel).
	CancelAfter time.Duration `yaml:"cancel_after"`
	// Kind, for fall, is the kind of fall (falldetect.Kinds, e.g. fall-slow).
	Kind string `yaml:"kind"`
	// Village names the village of a power_cut.
	Village string `yaml:"village"`
	// For is how long a power cut, an offline period, an anomaly or a bed exit lasts.
	For time.Duration `yaml:"for"`
	// Text, for sms, is what the elder texts from the home's SMS-only phone
	// (default 救命).
	Text string `yaml:"text"`
}

// DefaultSMSText is what an sms event texts when it has no text.
const DefaultSMSText = "救命"

// maxSMSText bounds an sms event's text: one SMS of 70 characters (UCS-2).
const maxSMSText = 70

// deviceFor is which of the home's devices does each thing.
var deviceFor = map[string]string{"sos": "sos_pendant", "fall": "fall_sensor", "bed_exit": "bed_sensor",
	"smoke": "smoke_detector", "gas": "gas_detector", "water_leak": "water_sensor", "tamper": "sos_pendant",
	"sms": "sms_phone"}

// needsFor are the things that last a while: they need For.
var needsFor = map[string]bool{"power_cut": true, "offline": true, "high_hr": true, "low_hr": true,
	"no_heart_rate": true, "no_movement": true, "long_bed_exit": true}

// Parse reads a scenario strictly: unknown keys and bad values are errors that name
// the line and the key (line 7: events[2].do).
func Parse(b []byte) (Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return s, fmt.Errorf("scenario: %w", err)
	}
	lines := lineNumbers(b)
	if err := s.checkSettings(lines); err != nil {
		return s, err
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.Speed == 0 {
		s.Speed = 1
	}
	for i, e := range s.Events {
		if err := e.check(); err != nil {
			return s, fmt.Errorf("scenario: line %d: events[%d].%w", lines.events[i], i, err)
		}
		s.Duration = max(s.Duration, e.At+e.CancelAfter+e.For+time.Second)
	}
	slices.SortStableFunc(s.Events, func(a, b Event) int { return int(a.At - b.At) })
	return s, nil
}

// lines are where the parts of the file are, for error messages.
type lines struct {
	top    map[string]int
	events []int
	clocks map[string]int
}

// lineNumbers finds the lines of the top-level keys, the events and the clocks (it
// runs after a successful strict decode, so the shape is right).
func lineNumbers(b []byte) lines {
	var doc struct {
		Events []yaml.Node `yaml:"events"`
		Clocks yaml.Node   `yaml:"clocks"`
	}
	var root yaml.Node
	_ = yaml.Unmarshal(b, &root)
	_ = yaml.Unmarshal(b, &doc)
	l := lines{top: map[string]int{}, clocks: map[string]int{}}
	if len(root.Content) > 0 {
		for i := 0; i+1 < len(root.Content[0].Content); i += 2 {
			l.top[root.Content[0].Content[i].Value] = root.Content[0].Content[i].Line
		}
	}
	for _, n := range doc.Events {
		l.events = append(l.events, n.Line)
	}
	for i := 0; i+1 < len(doc.Clocks.Content); i += 2 {
		l.clocks[doc.Clocks.Content[i].Value] = doc.Clocks.Content[i].Line
	}
	return l
}

func (e Event) check() error {
	switch {
	case e.At < 0:
		return errors.New("at: negative")
	case e.Do == "power_cut":
		return e.checkPowerCut()
	case e.Home == "":
		return errors.New("home: missing")
	case e.Village != "":
		return errors.New("village: only a power_cut takes a village")
	case deviceFor[e.Do] == "" && !needsFor[e.Do] && e.Do != "reboot":
		return fmt.Errorf("do: %q is not one of %s", e.Do, strings.Join(Dos(), ", "))
	case e.CancelAfter < 0 || e.CancelAfter > 0 && e.Do != "sos" && e.Do != "fall":
		return errors.New("cancel_after: only sos and fall can be cancelled, after a positive time")
	case e.Text != "" && e.Do != "sms":
		return errors.New("text: only an sms has a text")
	case utf8.RuneCountInString(e.Text) > maxSMSText || !utf8.ValidString(e.Text):
		return fmt.Errorf("text: longer than one SMS (%d characters)", maxSMSText)
	case e.Kind != "" && (e.Do != "fall" || !device.IsFallKind(e.Kind)):
		return fmt.Errorf("kind: %q is not a kind of fall (%s)", e.Kind, strings.Join(fallKinds(), ", "))
	case needsFor[e.Do] && e.For <= 0 || e.For < 0:
		return fmt.Errorf("for: %s needs a positive duration", e.Do)
	case e.For > 0 && !needsFor[e.Do] && e.Do != "bed_exit":
		return fmt.Errorf("for: %s does not last", e.Do)
	}
	return nil
}

func (e Event) checkPowerCut() error {
	switch {
	case e.Village == "":
		return errors.New("village: a power cut needs the village")
	case e.Home != "":
		return errors.New("home: a power cut takes a village, not a home")
	case e.For <= 0:
		return errors.New("for: a power cut needs a positive duration")
	}
	return nil
}

// Dos lists what an event may do.
func Dos() []string {
	out := []string{"power_cut", "offline", "reboot", "high_hr", "low_hr", "no_heart_rate", "no_movement", "long_bed_exit"}
	for d := range deviceFor {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

func fallKinds() []string {
	var out []string
	for _, k := range falldetect.Kinds() {
		if device.IsFallKind(k) {
			out = append(out, k)
		}
	}
	return out
}
