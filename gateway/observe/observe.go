// Package observe translates between the gateway's device protocol and the alerting
// rules: each accepted message becomes an alerting.Observation (alerting does not
// import the protocol package), with the device's time and how late it arrived.
package observe

import (
	"context"
	"time"

	"carebed/alerting"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// Rules applies the alerting rules to an observation; *rules.Engine is one.
type Rules interface {
	Observe(ctx context.Context, o alerting.Observation) error
}

// Observer is the ingest's Observer (ingest.Options.Observer): it hands every
// accepted message to the rules.
type Observer struct{ Rules Rules }

// Observe converts a protocol message into an observation and applies the rules.
func (o Observer) Observe(ctx context.Context, m protocol.Message, t points.Tags, s points.Stamp) error {
	ob := alerting.Observation{Device: t.Device, Received: s.Received,
		Place: alerting.Place{County: t.County, Township: t.Township, Village: t.Village, Home: t.Home}}
	var ts int64
	switch m.Topic.Kind {
	case protocol.KindEvent:
		e := m.Event
		ob.Seq, ts = e.Seq, e.TS
		ob.Event = &alerting.Event{Type: string(e.Type), Cancels: e.Cancels}
		if e.Confidence != nil {
			ob.Event.Confidence = *e.Confidence
		}
	case protocol.KindStatus:
		ob.Seq, ts = m.Status.Seq, m.Status.TS
		ob.Status = &alerting.Status{Online: m.Status.Online, HeartbeatS: m.Status.HeartbeatS}
	case protocol.KindTelemetry:
		rs := m.Telemetry.Readings
		if len(rs) == 0 {
			return nil
		}
		r := rs[len(rs)-1] // the newest reading says how things are now
		ob.Seq, ts = r.Seq, r.TS
		ob.Reading = &alerting.Reading{Battery: r.Battery, HR: r.HR, RR: r.RR, Motion: r.Motion, Occupied: r.Occupied}
	default:
		return nil
	}
	ob.At = s.Received
	if ts > 0 {
		ob.At = time.UnixMilli(ts)
	}
	if d, late := s.Delay(ts); late {
		ob.LateBy = d
	}
	return o.Rules.Observe(ctx, ob)
}
