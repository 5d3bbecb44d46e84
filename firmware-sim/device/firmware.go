// Package device models simulated care-bed devices as their firmware behaves: an
// SOS pendant, a wearable fall sensor running the on-device fall detector, a bed
// sensor following its elder's day, and alarm detectors (smoke, gas, water). Every
// model shares the Firmware: a seq counter kept in flash that survives a reboot, a
// device clock that may be off or missing, a draining battery, the home's signal
// strength, a bounded buffer for offline periods and the replay after them.
//
// A model never reads the wall clock and never touches the network: the caller
// moves it to a simulated time (Tick) and collects what it publishes (Take, Up);
// package link carries that over MQTT. A model is deterministic for its Config.
package device

import (
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Clock is a device's own clock: off the true time by Skew, or absent (None: the
// device sends no ts and the gateway uses the time of arrival).
type Clock struct {
	Skew time.Duration
	None bool
}

// Config is what every device model shares.
type Config struct {
	// ID is the device id, also its MQTT client id and username.
	ID string
	// Kind is the registry's device kind (sos_pendant, fall_sensor, bed_sensor, ...).
	Kind string
	// Start is the simulated time the device is switched on.
	Start time.Time
	// Every is the report interval: a reading at least this often; the status
	// announces it as heartbeat_s (default 5 min).
	Every time.Duration
	// FirstSeq is the first seq (default 1); SeqSaveEvery how often the seq
	// reservation is written to flash (default 256).
	FirstSeq, SeqSaveEvery uint64
	// FW is the firmware version the status reports (default "sim-2.0").
	FW string
	// Clock is the device clock.
	Clock Clock
	// Battery is the charge at Start in percent (default 100); DrainPerDay what
	// it loses in a day (default 0.5); each publish costs a little more.
	Battery, DrainPerDay float64
	// RSSI is the home's signal strength in dBm (default -75); readings vary
	// around it by a few dB.
	RSSI float64
	// KeepReadings bounds the readings kept while offline (default 1000).
	KeepReadings int
	// Seed varies the device's randomness (the phase of its reports, noise).
	Seed uint64
	// Logger gets the device's log lines (default: discarded).
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultEvery        = 5 * time.Minute
	DefaultSeqSaveEvery = 256
	DefaultFW           = "sim-2.0"
	DefaultKeepReadings = 1000
	lowBatteryAt        = 15.0  // percent: a low_battery event
	drainPerPublish     = 0.001 // percent a radio transmission costs
)

func (c *Config) defaults() {
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.FirstSeq == 0 {
		c.FirstSeq = 1
	}
	if c.SeqSaveEvery == 0 {
		c.SeqSaveEvery = DefaultSeqSaveEvery
	}
	if c.FW == "" {
		c.FW = DefaultFW
	}
	if c.Battery == 0 {
		c.Battery = 100
	}
	if c.DrainPerDay == 0 {
		c.DrainPerDay = 0.5
	}
	if c.RSSI == 0 {
		c.RSSI = -75
	}
	if c.KeepReadings <= 0 {
		c.KeepReadings = DefaultKeepReadings
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Model is a simulated device: its firmware, and what it senses.
type Model interface {
	// Core is the firmware every device shares (seq, clock, buffer, commands).
	Core() *Firmware
	// Tick moves the device to the simulated time now: the readings and events due
	// by then are made, each with the time it was due.
	Tick(now time.Time)
}

// Firmware is the part of a device every model shares. Its methods are safe for
// concurrent use; models hold its lock while they change it.
type Firmware struct {
	mu        sync.Mutex
	c         Config
	seq       *Counter
	battery   float64
	drainedAt time.Time
	lowSent   bool
	rng       *rand.Rand
	next      time.Time // the next periodic report
	connected bool
	out       []Message
	buf       buffer
	heard     []Heard
	reboots   int
	voice     bool // plays ack_feedback by voice (else by its LED)
	gps       *GPS // a herder's pendant's receiver; nil for devices without one
	log       *slog.Logger
}

// newFirmware returns the firmware of a device; voice says whether it can speak.
func newFirmware(c Config, voice bool) *Firmware {
	c.defaults()
	f := &Firmware{c: c, seq: NewCounter(c.FirstSeq, c.SeqSaveEvery), battery: c.Battery, drainedAt: c.Start,
		rng: rand.New(rand.NewPCG(c.Seed, hash(c.ID))), buf: buffer{maxReadings: c.KeepReadings}, voice: voice,
		log: c.Logger.With("device", c.ID)}
	// Devices switched on together do not report in step.
	f.next = c.Start.Add(time.Duration(f.rng.Float64() * float64(c.Every)))
	return f
}

// Core returns f; models embed the Firmware and so satisfy Model's Core method.
func (f *Firmware) Core() *Firmware { return f }

// ID is the device id.
func (f *Firmware) ID() string { return f.c.ID }

// Kind is the device kind.
func (f *Firmware) Kind() string { return f.c.Kind }

// ts is the device clock's reading at the true time t, in Unix milliseconds; 0
// for a device without a clock (protocol v1 then leaves ts out).
func (f *Firmware) ts(t time.Time) int64 {
	if f.c.Clock.None {
		return 0
	}
	return t.Add(f.c.Clock.Skew).UnixMilli()
}

// heartbeatS is the heartbeat_s the device announces: its report interval, within
// the protocol's 10 s … 1 day.
func (f *Firmware) heartbeatS() int {
	return min(max(int(math.Ceil(f.c.Every.Seconds())), 10), 86400)
}

// emit publishes m when connected, else keeps it.
func (f *Firmware) emit(m Message) {
	m.boot = f.reboots
	f.battery = max(0, f.battery-drainPerPublish)
	if f.connected {
		f.out = append(f.out, m)
		return
	}
	f.keep(m)
}

// keep puts a message that did not go out into the buffer.
func (f *Firmware) keep(m Message) {
	switch {
	case m.event != nil:
		f.buf.addEvent(*m.event)
	case m.reading != nil:
		f.buf.addReading(*m.reading)
	default:
		for _, r := range m.batch {
			f.buf.addReading(r)
		}
	}
}
