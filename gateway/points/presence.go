package points

import (
	"strconv"
	"time"
)

// PresencePoint is a change of whether the gateway hears a device, as the presence
// measurement stores it: what the monthly report's time online is computed from.
type PresencePoint struct {
	Tags Tags
	// Online is the device's state from At on.
	Online bool
	// Cause is why: "status" (the device's status message or its Last Will),
	// "message" (a message after silence, or the first since the gateway started)
	// or "silent" (nothing heard for the policy's offline heartbeats).
	Cause string
	At    time.Time
}

// AppendPresence appends the line of a presence change (measurement presence: the
// device's tags; fields online, cause; timestamp At in nanoseconds).
func AppendPresence(dst []byte, p PresencePoint) []byte {
	dst = appendSeries(dst, "presence", p.Tags)
	f := fields{dst: dst}
	f.boolean("online", p.Online)
	f.str("cause", p.Cause)
	dst = append(f.dst, ' ')
	dst = strconv.AppendInt(dst, p.At.UnixNano(), 10)
	return append(dst, '\n')
}
