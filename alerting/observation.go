package alerting

import "time"

// Observation is one thing a device reported, in the terms the rules need. The
// gateway builds it from a decoded protocol message (alerting does not import the
// gateway's protocol package).
type Observation struct {
	Device string
	Place  Place
	Seq    uint64
	// At is the device's time of the observation (receive time for devices without
	// a clock); Received when the gateway took it in; LateBy how late it arrived.
	At       time.Time
	Received time.Time
	LateBy   time.Duration
	// Exactly one of Event, Status and Reading is set.
	Event   *Event
	Status  *Status
	Reading *Reading
}

// Event is a discrete device event.
type Event struct {
	Type       string // protocol v1 event type: sos, sos_cancel, fall, fall_cancel, ...
	Confidence float64
	Cancels    uint64
}

// Status is a device's presence report (online, or its Last Will).
type Status struct {
	Online bool
	// HeartbeatS is the device's heartbeat interval, when it reports one.
	HeartbeatS int
}

// Reading is one telemetry reading; nil fields were not reported.
type Reading struct {
	Battery, HR, RR, Motion *float64
	Occupied                *bool
}
