package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carebed/firmware-sim/simclock"
)

// Injector publishes an event from a device, as that device (its connection, its
// next seq): a fleet (package fleet) is one.
type Injector interface {
	Event(device, eventType string, cancels uint64) (seq uint64, err error)
	PowerCut(devices []string, d time.Duration) error
}

// Homes maps a home and a device kind to the device id (from the ledger).
type Homes func(home, kind string) (string, bool)

// Villages lists the devices of a village (from the ledger).
type Villages func(village string) []string

// Run plays s in real time through inj, which publishes raw events (no device
// models: a fall is a fall event, a cancel its cancel event), until ctx ends or
// the last event was sent, and returns what it sent. An event whose home has no
// device for it is reported with an error, as are the things only the device
// models do (offline, reboot, anomalies).
func Run(ctx context.Context, s Scenario, homes Homes, villages Villages, inj Injector) []Sent {
	return Play(ctx, s, simclock.Wall(), &injection{homes: homes, villages: villages, inj: inj, last: map[string]uint64{}})
}

// injection is a Target that publishes raw events through an Injector.
type injection struct {
	homes    Homes
	villages Villages
	inj      Injector
	last     map[string]uint64 // home/type -> seq, for cancels
}

// Do publishes the step's event.
func (j *injection) Do(st Step) Sent {
	switch st.Do {
	case PowerBack, SignalBack:
		return Sent{} // the fleet ends its power cuts itself
	case "power_cut":
		return j.powerCut(st)
	case "sms": // a webhook, not an MQTT event
		return Sent{Type: st.Do, Err: errors.New("sms needs the SMS-only phones of firmware-sim run")}
	}
	base := map[string]string{SOSCancel: "sos", FallCancel: "fall"}[st.Do]
	if base == "" {
		base = st.Do
	}
	out := Sent{Type: st.Do}
	kind := deviceFor[base]
	if kind == "" {
		out.Err = fmt.Errorf("%s needs the device models (firmware-sim run)", st.Do)
		return out
	}
	dev, ok := j.homes(st.Home, kind)
	if !ok {
		out.Err = fmt.Errorf("home %s has no device for %s", st.Home, st.Do)
		return out
	}
	out.Device = dev
	out.Seq, out.Err = j.inj.Event(dev, st.Do, j.last[st.Home+"/"+base])
	if out.Err == nil && st.Do == base {
		j.last[st.Home+"/"+base] = out.Seq
	}
	return out
}

func (j *injection) powerCut(st Step) Sent {
	cut := j.villages(st.Village)
	out := Sent{Device: "village", Type: st.Do, Err: j.inj.PowerCut(cut, st.For)}
	if out.Err == nil && len(cut) == 0 {
		out.Err = fmt.Errorf("village %s has no devices", st.Village)
	}
	return out
}

var _ Target = (*injection)(nil)
