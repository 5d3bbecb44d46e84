// Package homes brings the homes of a bed ledger to life: every device is its
// firmware model (package device) on its own MQTT connection (package link), all
// moved by one simulated clock, and a scenario's steps (package scenario) happen to
// them: a pendant pressed twice, a wearer falling, a bed sensor seeing a high heart
// rate, a home losing its signal, a village its power.
package homes

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/link"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
	"carebed/firmware-sim/smsphone"
)

// Options configure Homes.
type Options struct {
	// Broker is the MQTT URL the devices connect to.
	Broker string
	// Ledger lists the devices, their homes and villages.
	Ledger []fleet.LedgerDevice
	// Scenario gives the world's settings: seed, zone, device clocks and models.
	// (Its events are played with scenario.Play, Homes being the Target.)
	Scenario scenario.Scenario
	// Clock is the simulated time (default: the wall clock).
	Clock simclock.Clock
	// Every is every device's report interval (0: the ledger's heartbeat, else
	// the model's default).
	Every time.Duration
	// Step is the simulated time between two rounds of the devices (default 1 s).
	Step time.Duration
	// FirstSeq is every device's first seq (default 1).
	FirstSeq uint64
	// Passwords are the devices' credentials by device id (none: no password).
	Passwords map[string]string
	// Retry and Jitter are passed to every link (see link.Options).
	Retry, Jitter time.Duration
	// SMS is the gateway's inbound-SMS webhook the ledger's SMS-only phones text
	// (sms_phone rows; they never connect by MQTT). Without it their sms steps fail.
	SMS smsphone.Webhook
	// Logger gets the devices' lines (default: discarded).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = simclock.Wall()
	}
	if o.Step <= 0 {
		o.Step = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Scenario.Seed == 0 {
		o.Scenario.Seed = 1
	}
}

// Homes is the running simulation.
type Homes struct {
	o         Options
	units     []*unit
	byID      map[string]*unit
	byHome    map[string][]*unit
	byVillage map[string][]*unit
	phones    map[string]*smsphone.Phone // SMS-only phones by home
	mu        sync.Mutex                 // serialises scenario steps with the rounds
}

// unit is one device: its ledger row, its model and its link.
type unit struct {
	row   fleet.LedgerDevice
	model device.Model
	link  *link.Link
	// cut says why the link has no signal: the scenario (offline, power_cut) or a
	// herder's coverage gap; the signal returns when neither holds.
	scenarioCut, gapCut bool
}

var _ scenario.Target = (*Homes)(nil)

// New builds the devices of the ledger; Run connects them.
func New(o Options) (*Homes, error) {
	o.defaults()
	if len(o.Ledger) == 0 {
		return nil, errors.New("homes: the ledger has no devices")
	}
	o.Ledger = slices.Clone(o.Ledger)
	fleet.FillHomes(o.Ledger) // a phone's row may be in another file than its home's coordinates
	h := &Homes{o: o, byID: map[string]*unit{}, byHome: map[string][]*unit{}, byVillage: map[string][]*unit{},
		phones: map[string]*smsphone.Phone{}}
	start := o.Clock.Now()
	routines := map[string]*device.Routine{}
	seen := map[string]bool{}
	for _, row := range o.Ledger {
		if seen[row.ID] {
			return nil, fmt.Errorf("homes: device %s is twice in the ledger", row.ID)
		}
		seen[row.ID] = true
		if row.Kind == fleet.SMSPhone {
			p, err := smsphone.New(row.ID, row.Home, row.Phone, o.SMS, o.Scenario.Seed, o.Logger)
			if err != nil {
				return nil, fmt.Errorf("homes: %w (ledger column device_phone, 设备电话)", err)
			}
			h.phones[row.Home] = p
			continue
		}
		r := routines[row.Home]
		if r == nil {
			r = device.NewRoutine(o.Scenario.Seed, row.Home, o.Scenario.Location())
			routines[row.Home] = r
		}
		u, err := h.build(row, r, start)
		if err != nil {
			return nil, err
		}
		h.units = append(h.units, u)
		h.byID[row.ID] = u
		h.byHome[row.Home] = append(h.byHome[row.Home], u)
		h.byVillage[row.Village] = append(h.byVillage[row.Village], u)
	}
	return h, nil
}

// build makes a device's model and link.
func (h *Homes) build(row fleet.LedgerDevice, r *device.Routine, start time.Time) (*unit, error) {
	m, err := model(h.config(row, start), row, r, h.o.Scenario)
	if err != nil {
		return nil, err
	}
	l, err := link.New(m.Core(), link.Options{Broker: h.o.Broker, Password: h.o.Passwords[row.ID], Clock: h.o.Clock,
		Retry: h.o.Retry, Jitter: h.o.Jitter, Logger: h.o.Logger.With("home", row.Home)})
	if err != nil {
		return nil, err
	}
	return &unit{row: row, model: m, link: l}, nil
}

// config is a device's firmware settings: its clock from the scenario, its
// battery from the seed, its home's signal strength (weak out on herding land).
func (h *Homes) config(row fleet.LedgerDevice, start time.Time) device.Config {
	seed := h.o.Scenario.Seed
	home := rand.New(rand.NewPCG(seed, fnv(row.Home)))
	dev := rand.New(rand.NewPCG(seed, fnv(row.ID)))
	every := h.o.Every
	if every == 0 {
		every = row.Heartbeat
	}
	return device.Config{ID: row.ID, Kind: row.Kind, Start: start, Every: every, FirstSeq: h.o.FirstSeq,
		Clock: h.o.Scenario.Clock(row.Home, row.ID), Battery: 55 + 45*dev.Float64(), RSSI: -65 - 35*home.Float64(),
		KeepReadings: h.o.Scenario.Devices.KeepReadings, Seed: seed, Logger: h.o.Logger.With("home", row.Home)}
}

// model makes the model of a device: its kind's, and for the pendant of a home
// that moves with its herds (流动, with coordinates), a herder's pendant with GPS
// whose herd winters at the home.
func model(c device.Config, row fleet.LedgerDevice, r *device.Routine, sc scenario.Scenario) (device.Model, error) {
	d := sc.Devices
	switch row.Kind {
	case "sos_pendant":
		if row.Mobile && row.HasPos {
			herd := sc.Herd(row.Home, device.LatLon{Lat: row.Lat, Lon: row.Lon})
			return device.NewHerderPendant(c, d.SOSCancelWindow, device.GPS{Herd: herd}), nil
		}
		return device.NewPendant(c, d.SOSCancelWindow), nil
	case "fall_sensor":
		return device.NewWearable(c, device.WearableConfig{ActivitiesPerHour: d.ActivitiesPerHour, Awake: r.Awake,
			FalseAlarmCancel: d.FalseAlarmCancel})
	case "bed_sensor":
		return device.NewBed(c, device.BedConfig{Routine: r}), nil
	}
	return device.NewAlarm(c), nil
}

// fnv hashes a name into a seed.
func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
