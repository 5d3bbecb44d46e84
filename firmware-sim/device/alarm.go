package device

import (
	"math"
	"time"

	"carebed/gateway/protocol"
)

// Alarm is a detector that reports only its health until something happens: smoke
// (which also reads the room temperature), gas and water detectors, and any kind
// the simulator has no model for. Its events come from Raise.
type Alarm struct {
	*Firmware
	temp bool
}

var _ Model = (*Alarm)(nil)

// NewAlarm returns a detector; a smoke detector reports the room temperature too.
func NewAlarm(c Config) *Alarm {
	return &Alarm{Firmware: newFirmware(c, false), temp: c.Kind == "smoke_detector"}
}

// Tick makes the reports due by now.
func (a *Alarm) Tick(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var fill func(*protocol.Reading, time.Time)
	if a.temp {
		fill = a.fillTemp
	}
	a.reports(now, fill)
}

// fillTemp adds a heated room's temperature: coolest at dawn, warmest in the
// afternoon, in the detector's clock's zone.
func (a *Alarm) fillTemp(r *protocol.Reading, t time.Time) {
	h := float64(t.Hour()) + float64(t.Minute())/60
	c := math.Round((18+3*math.Sin((h-9)/24*2*math.Pi)+0.3*a.rng.NormFloat64())*10) / 10
	r.TempC = &c
}
