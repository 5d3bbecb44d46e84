package homes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carebed/firmware-sim/device"
	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/scenario"
	"carebed/gateway/protocol"
)

// defaultBedExit is how long a scenario's bed_exit without `for` keeps the elder up.
const defaultBedExit = 5 * time.Minute

// Do does a scenario step in the homes at the clock's time: the home's device of
// the right kind does it as its firmware would, and publishes at once.
func (h *Homes) Do(st scenario.Step) scenario.Sent {
	if st.Do == "sms" { // over HTTP, not MQTT: the rounds go on meanwhile
		return h.sms(st)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.o.Clock.Now()
	switch st.Do {
	case "power_cut", "offline":
		return h.signal(st, true)
	case scenario.PowerBack, scenario.SignalBack:
		return h.signal(st, false)
	case "reboot":
		return h.reboot(st)
	case "sos", scenario.SOSCancel:
		return h.with(st, "sos_pendant", func(m device.Model) scenario.Sent { return press(m, now) })
	case "fall":
		return h.with(st, "fall_sensor", func(m device.Model) scenario.Sent { return fall(m, now, st.Kind) })
	case scenario.FallCancel:
		return h.with(st, "fall_sensor", func(m device.Model) scenario.Sent { return cancelFall(m, now) })
	case "bed_exit", "high_hr", "low_hr", "no_heart_rate", "no_movement", "long_bed_exit":
		return h.with(st, "bed_sensor", func(m device.Model) scenario.Sent { return anomaly(m, now, st) })
	}
	return h.with(st, kindOf(st.Do), func(m device.Model) scenario.Sent {
		return scenario.Sent{Type: st.Do, Seq: m.Core().Raise(now, protocol.EventType(st.Do))}
	})
}

// kindOf is the device kind that raises an alarm event.
func kindOf(event string) string {
	return map[string]string{"smoke": "smoke_detector", "gas": "gas_detector", "water_leak": "water_sensor", "tamper": "sos_pendant"}[event]
}

// with does f on the home's device of kind and publishes what it made.
func (h *Homes) with(st scenario.Step, kind string, f func(device.Model) scenario.Sent) scenario.Sent {
	for _, u := range h.byHome[st.Home] {
		if u.row.Kind == kind {
			out := f(u.model)
			out.Device = u.row.ID
			u.link.Flush()
			return out
		}
	}
	return scenario.Sent{Type: st.Do, Err: fmt.Errorf("home %s has no %s for %s", st.Home, kind, st.Do)}
}

func press(m device.Model, now time.Time) scenario.Sent {
	p, ok := m.(*device.Pendant)
	if !ok {
		return scenario.Sent{Type: "sos", Err: errors.New("not a pendant")}
	}
	typ, seq := p.Press(now)
	return scenario.Sent{Type: string(typ), Seq: seq}
}

func fall(m device.Model, now time.Time, kind string) scenario.Sent {
	w, ok := m.(*device.Wearable)
	if !ok {
		return scenario.Sent{Type: "fall", Err: errors.New("not a fall sensor")}
	}
	seq, conf, fired, err := w.Fall(now, kind)
	out := scenario.Sent{Type: "fall", Seq: seq, Err: err}
	switch {
	case err != nil:
	case fired:
		out.Note = fmt.Sprintf("detector confidence %.2f", conf)
	default:
		out.Type, out.Note = "fall (missed)", "the detector missed the fall: nothing sent"
	}
	return out
}

func cancelFall(m device.Model, now time.Time) scenario.Sent {
	w, ok := m.(*device.Wearable)
	if !ok {
		return scenario.Sent{Type: scenario.FallCancel, Err: errors.New("not a fall sensor")}
	}
	seq, sent := w.Cancel(now)
	out := scenario.Sent{Type: scenario.FallCancel, Seq: seq}
	if !sent {
		out.Note = "no fall to cancel: nothing sent"
	}
	return out
}

func anomaly(m device.Model, now time.Time, st scenario.Step) scenario.Sent {
	b, ok := m.(*device.Bed)
	if !ok {
		return scenario.Sent{Type: st.Do, Err: errors.New("not a bed sensor")}
	}
	kind, d := device.AnomalyKind(st.Do), st.For
	if st.Do == "bed_exit" {
		kind = device.LongBedExit
		if d == 0 {
			d = defaultBedExit
		}
	}
	return scenario.Sent{Type: st.Do, Note: "for " + d.String(), Err: b.Anomaly(now, kind, d)}
}

// signal cuts (or restores) the signal of a home's or a village's devices.
func (h *Homes) signal(st scenario.Step, cut bool) scenario.Sent {
	units := h.byHome[st.Home]
	if st.Village != "" {
		units = h.byVillage[st.Village]
	}
	out := scenario.Sent{Type: st.Do, Device: fmt.Sprintf("%d devices", len(units))}
	if len(units) == 0 {
		out.Err = fmt.Errorf("%s%s has no devices", st.Home, st.Village)
	}
	for _, u := range units {
		u.scenarioCut = cut
		u.setSignal()
	}
	return out
}

// smsTimeout bounds the webhook post of an sms step.
const smsTimeout = 15 * time.Second

// sms texts the step's text from the home's SMS-only phone.
func (h *Homes) sms(st scenario.Step) scenario.Sent {
	p := h.phones[st.Home]
	if p == nil {
		return scenario.Sent{Type: st.Do, Err: fmt.Errorf("home %s has no %s for sms", st.Home, fleet.SMSPhone)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), smsTimeout)
	defer cancel()
	s, err := p.Send(ctx, h.o.Clock.Now(), st.Text)
	out := scenario.Sent{Type: st.Do, Device: p.ID, Err: err}
	if err == nil {
		out.Note = fmt.Sprintf("%d characters, HTTP %d, %s", len([]rune(st.Text)), s.Status, s.MessageSID)
	}
	return out
}

// reboot power-cycles the home's devices.
func (h *Homes) reboot(st scenario.Step) scenario.Sent {
	units := h.byHome[st.Home]
	out := scenario.Sent{Type: st.Do, Device: fmt.Sprintf("%d devices", len(units))}
	if len(units) == 0 {
		out.Err = fmt.Errorf("home %s has no devices", st.Home)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, u := range units {
		errs = append(errs, u.link.Reboot(ctx))
	}
	out.Err = errors.Join(append(errs, out.Err)...)
	return out
}
