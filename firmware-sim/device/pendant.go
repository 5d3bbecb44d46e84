package device

import (
	"time"

	"carebed/gateway/protocol"
)

// DefaultCancelWindow is how soon after an SOS a second press cancels it.
const DefaultCancelWindow = 30 * time.Second

// Pendant is an SOS pendant (紧急呼叫器): a press of its button sends sos; a second
// press within the cancel window sends sos_cancel for that SOS (the wearer pressed
// by mistake, or help is no longer needed); a press after the window is a new SOS.
// It reports battery and signal every Config.Every and speaks ack_feedback.
type Pendant struct {
	*Firmware
	window time.Duration
	sos    uint64 // the SOS a second press cancels; 0: none
	sosAt  time.Time
}

var _ Model = (*Pendant)(nil)

// NewPendant returns a pendant whose second press within window (0: the default
// 30 s) cancels its SOS.
func NewPendant(c Config, window time.Duration) *Pendant {
	if window <= 0 {
		window = DefaultCancelWindow
	}
	return &Pendant{Firmware: newFirmware(c, true), window: window}
}

// Tick makes the reports due by now.
func (p *Pendant) Tick(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports(now, nil)
}

// Press presses the button at now and returns what the pendant sent and its seq.
func (p *Pendant) Press(now time.Time) (protocol.EventType, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports(now, nil)
	if p.sos != 0 && now.Sub(p.sosAt) <= p.window {
		seq := p.event(now, protocol.EventSOSCancel, nil, p.sos)
		p.sos = 0
		return protocol.EventSOSCancel, seq
	}
	p.sos, p.sosAt = p.event(now, protocol.EventSOS, nil, 0), now
	return protocol.EventSOS, p.sos
}

// NewHerderPendant returns the pendant of an elder who moves with the herds: an SOS
// pendant with a satellite receiver (g) that moves with g.Herd between the winter
// quarters and the summer pasture. Its readings carry the fix of the moment when the
// receiver has one, its SOS, fall and online status the last fix it has, however
// old; Covered says when it has mobile coverage (the caller cuts its link in the
// gaps: it keeps its readings and replays them as batches afterwards).
func NewHerderPendant(c Config, window time.Duration, g GPS) *Pendant {
	p := NewPendant(c, window)
	p.gps = &g
	return p
}
