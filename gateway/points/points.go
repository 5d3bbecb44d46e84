// Package points turns decoded protocol v1 messages into InfluxDB line protocol and
// frames them as spool records that carry the (device, seq) pairs they hold.
//
// Schema (docs/protocol.md, "Storage"): measurements telemetry, event and
// device_status; tags county, township, village, home, device, kind (and type for
// events); never a person's name or phone number. A point's timestamp is the device's
// ts in milliseconds (receive time when the device has no clock) plus seq mod 10^6 in
// nanoseconds, so two readings in one millisecond stay distinct and writing the same
// message twice leaves one point: the InfluxDB write is idempotent.
package points

import (
	"math"
	"strconv"
	"time"

	"carebed/gateway/protocol"
)

// Tags are the place and identity tags of every point of one device.
type Tags struct {
	County, Township, Village, Home, Device, Kind string
}

// Stamp is the receive-side context of one message.
type Stamp struct {
	// Received is when the gateway took the message in.
	Received time.Time
	// LateAfter flags a message whose ts is older than this on arrival.
	LateAfter time.Duration
}

// Delay reports how far ts (Unix ms, 0 = no clock) lags behind the receive time, and
// whether that makes the message late. Future timestamps count as on time, and so
// does a ts past protocol.MaxTS, which counts as no clock.
func (s Stamp) Delay(ts int64) (time.Duration, bool) {
	if !HasClock(ts) {
		return 0, false
	}
	d := s.Received.Sub(time.UnixMilli(ts))
	return d, d > s.LateAfter
}

// HasClock reports whether ts (Unix ms) is a device time the gateway uses: above 0
// (0 means no clock) and no later than protocol.MaxTS, the end of InfluxDB's time.
func HasClock(ts int64) bool { return ts > 0 && ts <= protocol.MaxTS }

// InvalidTS reports whether ts lies past protocol.MaxTS: the device sent a time that
// InfluxDB cannot hold. Such a message is stored at its arrival, flagged ts_invalid.
func InvalidTS(ts int64) bool { return ts > protocol.MaxTS }

// Nanos is the point timestamp for a message with device time ts and sequence seq:
// ts in ms plus seq mod 10^6 in ns, or the receive time in place of ts when the device
// has no clock or sent a ts past protocol.MaxTS. It always lies within InfluxDB's
// range for a receive time that does.
func (s Stamp) Nanos(ts int64, seq uint64) int64 {
	ms := ts
	if !HasClock(ms) {
		ms = s.Received.UnixMilli()
	}
	return ms*1_000_000 + int64(seq%1_000_000)
}

// AppendTelemetry appends one telemetry line per reading to dst.
func AppendTelemetry(dst []byte, t Tags, tel protocol.Telemetry, s Stamp) []byte {
	for _, r := range tel.Readings {
		dst = appendReading(dst, t, r, tel.Batch, s)
	}
	return dst
}

func appendReading(dst []byte, t Tags, r protocol.Reading, replayed bool, s Stamp) []byte {
	dst = appendSeries(dst, "telemetry", t)
	f := fields{dst: dst}
	f.float("battery", r.Battery)
	f.float("rssi", r.RSSI)
	f.float("hr", r.HR)
	f.float("rr", r.RR)
	f.float("motion", r.Motion)
	f.float("temp_c", r.TempC)
	if r.Occupied != nil {
		f.boolean("occupied", *r.Occupied)
	}
	f.boolean("replayed", replayed)
	return finish(f, r.Seq, r.TS, s)
}

// AppendEvent appends the event's line to dst.
func AppendEvent(dst []byte, t Tags, e protocol.Event, s Stamp) []byte {
	dst = appendSeries(dst, "event", t)
	dst = append(dst, ",type="...)
	dst = appendTag(dst, string(e.Type))
	f := fields{dst: dst}
	f.float("confidence", e.Confidence)
	if e.Cancels != 0 {
		f.integer("cancels", int64(e.Cancels))
	}
	return finish(f, e.Seq, e.TS, s)
}

// AppendStatus appends the status line to dst.
func AppendStatus(dst []byte, t Tags, st protocol.Status, s Stamp) []byte {
	dst = appendSeries(dst, "device_status", t)
	f := fields{dst: dst}
	f.boolean("online", st.Online)
	if st.FW != "" {
		f.str("fw", st.FW)
	}
	if st.HeartbeatS != 0 {
		f.integer("heartbeat_s", int64(st.HeartbeatS))
	}
	return finish(f, st.Seq, st.TS, s)
}

// finish adds seq, the lateness fields and the timestamp, and ends the line.
func finish(f fields, seq uint64, ts int64, s Stamp) []byte {
	f.integer("seq", int64(seq))
	delay, late := s.Delay(ts)
	f.boolean("late", late)
	if late {
		f.integer("delay_ms", delay.Milliseconds())
	}
	if InvalidTS(ts) {
		f.boolean("ts_invalid", true)
	}
	dst := append(f.dst, ' ')
	dst = strconv.AppendInt(dst, s.Nanos(ts, seq), 10)
	return append(dst, '\n')
}

func appendSeries(dst []byte, measurement string, t Tags) []byte {
	dst = append(dst, measurement...)
	for _, kv := range [...]struct{ k, v string }{
		{"county", t.County}, {"device", t.Device}, {"home", t.Home},
		{"kind", t.Kind}, {"township", t.Township}, {"village", t.Village},
	} {
		if kv.v == "" {
			continue // InfluxDB rejects empty tag values
		}
		dst = append(dst, ',')
		dst = append(dst, kv.k...)
		dst = append(dst, '=')
		dst = appendTag(dst, kv.v)
	}
	return dst
}

// appendTag writes v as a line-protocol tag value that every InfluxDB parser reads
// back: commas, equals signs and spaces are escaped with a backslash; control characters
// (tabs, line breaks, ...) become '_'; and a backslash becomes '＼' (U+FF3C), because
// line protocol has no escape for a backslash before a comma, space, equals sign or
// another backslash, or at the end of the value (there it would escape the comma or
// space that ends the tag, and InfluxDB refused every point of the home). Ledger
// imports refuse such ids (see package ledger); this keeps older registries working.
func appendTag(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ',', '=', ' ':
			dst = append(dst, '\\', c)
		case '\\':
			dst = append(dst, "＼"...)
		default:
			if c < 0x20 || c == 0x7f { // control characters: parsers disagree on them
				c = '_'
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// fields writes a field set, the first one after a space and the others after commas.
type fields struct {
	dst []byte
	n   int
}

func (f *fields) key(k string) {
	if f.n == 0 {
		f.dst = append(f.dst, ' ')
	} else {
		f.dst = append(f.dst, ',')
	}
	f.n++
	f.dst = append(f.dst, k...)
	f.dst = append(f.dst, '=')
}

func (f *fields) float(k string, v *float64) {
	if v == nil {
		return
	}
	f.key(k)
	f.dst = appendFloat(f.dst, *v)
}

// appendFloat writes v as a line-protocol float. Whole numbers (most readings) are
// written as integers with ".0", which keeps the field a float and costs a fifth of
// formatting a float; 'g' would write 2000000 as 2e+06.
func appendFloat(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		b = strconv.AppendInt(b, int64(v), 10)
		return append(b, ".0"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func (f *fields) integer(k string, v int64) {
	f.key(k)
	f.dst = strconv.AppendInt(f.dst, v, 10)
	f.dst = append(f.dst, 'i')
}

func (f *fields) boolean(k string, v bool) {
	f.key(k)
	if v {
		f.dst = append(f.dst, 't')
	} else {
		f.dst = append(f.dst, 'f')
	}
}

func (f *fields) str(k, v string) {
	f.key(k)
	f.dst = append(f.dst, '"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\\':
			f.dst = append(f.dst, '\\', c)
		case '\n':
			f.dst = append(f.dst, ' ')
		default:
			f.dst = append(f.dst, c)
		}
	}
	f.dst = append(f.dst, '"')
}

// AlertPoint is an alert's state change as the alert measurement stores it.
type AlertPoint struct {
	County, Township, Village, Home, Device string
	Kind, Severity                          string
	ID                                      int64
	Code, State, Change, Outcome            string
	// AckSeconds and OpenSeconds are set (> 0) on acknowledgement and resolution.
	AckSeconds, OpenSeconds float64
	// OpenedAt is when the alert was raised (field opened_ms, Unix milliseconds), so
	// a dashboard shows an open alert's age; omitted when zero.
	OpenedAt time.Time
	// AckRole is the role of the person who took the alert (village_doctor, ...;
	// never a name or phone), "" while nobody has. Field ack_role, always written, so
	// that the last value of an alert never comes from an earlier alert of the home.
	AckRole string
	At      time.Time
}

// AppendAlert appends the line of an alert state change. Its timestamp is the change
// time plus the alert id mod 10^6 in nanoseconds, so two alerts changing in the same
// millisecond stay two points.
func AppendAlert(dst []byte, a AlertPoint) []byte {
	dst = appendSeries(dst, "alert", Tags{County: a.County, Township: a.Township, Village: a.Village,
		Home: a.Home, Device: a.Device, Kind: a.Kind})
	dst = append(dst, ",severity="...)
	dst = appendTag(dst, a.Severity)
	f := fields{dst: dst}
	f.integer("id", a.ID)
	f.str("code", a.Code)
	f.str("state", a.State)
	f.str("change", a.Change)
	if a.Outcome != "" {
		f.str("outcome", a.Outcome)
	}
	if a.AckSeconds > 0 {
		v := a.AckSeconds
		f.float("ack_seconds", &v)
	}
	if a.OpenSeconds > 0 {
		v := a.OpenSeconds
		f.float("open_seconds", &v)
	}
	if !a.OpenedAt.IsZero() {
		f.integer("opened_ms", a.OpenedAt.UnixMilli())
	}
	f.str("ack_role", a.AckRole)
	dst = append(f.dst, ' ')
	dst = strconv.AppendInt(dst, a.At.UnixMilli()*1_000_000+a.ID%1_000_000, 10)
	return append(dst, '\n')
}
