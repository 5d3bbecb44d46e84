package device

import (
	"time"

	"carebed/gateway/protocol"
)

// Heard is a command that reached the device on its cmd topic.
type Heard struct {
	At  time.Time
	Cmd protocol.Cmd
	// Played says the device told the person: ack_feedback is spoken ("help is
	// coming", 有人来帮您了) by a device with a speaker, shown on the LED by others.
	Played bool
	// Err is why the payload was not a command (it was ignored).
	Err error
}

// Command handles a payload that arrived on the cmd topic at now, as firmware does:
// ack_feedback is played, an unknown command type is ignored, a payload that is not
// a protocol v1 command is logged and ignored.
func (f *Firmware) Command(payload []byte, now time.Time) Heard {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd, err := protocol.DecodeCmd(payload)
	h := Heard{At: now, Cmd: cmd, Err: err}
	switch {
	case err != nil:
		f.log.Warn("ignored a bad command", "err", err)
	case cmd.Type == protocol.CmdAckFeedback:
		h.Played = true
		f.log.Info("ack_feedback: help is coming (有人来帮您了)", "alert", cmd.Alert, "by", cmd.By, "how", f.how(), "text", cmd.Text)
	default:
		f.log.Info("ignored an unknown command", "type", cmd.Type)
	}
	f.heard = append(f.heard, h)
	return h
}

func (f *Firmware) how() string {
	if f.voice {
		return "voice"
	}
	return "led"
}

// Heard returns the commands the device received, in order.
func (f *Firmware) Heard() []Heard {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Heard(nil), f.heard...)
}
