package points

import (
	"bytes"
	"context"
	"strconv"
	"strings"

	"carebed/gateway/protocol"
)

// PositionMeasurement is the measurement of device positions. A person's whereabouts
// are personal data: its points go to their own retention policy (see Router), so
// they expire sooner than the readings, and no other measurement carries them.
const PositionMeasurement = "position"

// AppendPosition appends the position line of a fix sent with a message whose ts is
// msgTS and seq is seq: tags as every point of the device, fields lat, lon, acc_m
// (and seq), at the fix's time (the message's when the fix has none; the arrival
// time when neither has a clock) plus seq mod 10^6 ns, so writing it twice leaves
// one point.
func AppendPosition(dst []byte, t Tags, f protocol.Fix, msgTS int64, seq uint64, s Stamp) []byte {
	dst = appendSeries(dst, PositionMeasurement, t)
	fs := fields{dst: dst}
	fs.float("lat", &f.Lat)
	fs.float("lon", &f.Lon)
	fs.float("acc_m", &f.AccM)
	fs.integer("seq", int64(seq))
	dst = append(fs.dst, ' ')
	dst = strconv.AppendInt(dst, s.Nanos(f.At(msgTS), seq), 10)
	return append(dst, '\n')
}

// AppendPositions appends the position lines of every fix m carries.
func AppendPositions(dst []byte, t Tags, m protocol.Message, s Stamp) []byte {
	switch m.Topic.Kind {
	case protocol.KindTelemetry:
		for _, r := range m.Telemetry.Readings {
			if r.Fix != nil {
				dst = AppendPosition(dst, t, *r.Fix, r.TS, r.Seq, s)
			}
		}
	case protocol.KindEvent:
		if f := m.Event.Fix; f != nil {
			dst = AppendPosition(dst, t, *f, m.Event.TS, m.Event.Seq, s)
		}
	case protocol.KindStatus:
		if f := m.Status.Fix; f != nil {
			dst = AppendPosition(dst, t, *f, m.Status.TS, m.Status.Seq, s)
		}
	}
	return dst
}

// LineWriter writes line protocol to one InfluxDB bucket (db/rp);
// influxdb-client-go's WriteAPIBlocking is one.
type LineWriter interface {
	WriteRecord(ctx context.Context, lines ...string) error
}

// Router writes position lines to Positions (their own retention policy) and all
// other lines to Main. InfluxDB 1.x line protocol cannot name a retention policy per
// line, so the split is by measurement. The main write goes first: when the
// positions write fails, its error is returned and the whole write retried (writing
// the same points twice leaves one); Drop, if set, decides which positions errors
// are not worth a retry (the policy missing, the user not allowed): then the
// positions are dropped, Dropped is called, and the readings go on.
type Router struct {
	Main, Positions LineWriter
	Drop            func(error) bool
	Dropped         func(points int, err error)
}

var positionPrefix = []byte(PositionMeasurement + ",")

// hasPosition reports whether any line is a position: the common case is none, and
// then the lines go to Main as they are, without a copy.
func hasPosition(lines []string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, PositionMeasurement+",") || strings.Contains(l, "\n"+PositionMeasurement+",") {
			return true
		}
	}
	return false
}

// WriteRecord splits lines into the two writes.
func (r *Router) WriteRecord(ctx context.Context, lines ...string) error {
	if !hasPosition(lines) {
		return r.Main.WriteRecord(ctx, lines...)
	}
	var main, pos []byte
	for _, l := range lines {
		for rest := []byte(l); len(rest) > 0; {
			line, tail, _ := bytes.Cut(rest, []byte{'\n'})
			rest = tail
			if len(line) == 0 {
				continue
			}
			if bytes.HasPrefix(line, positionPrefix) {
				pos = append(append(pos, line...), '\n')
			} else {
				main = append(append(main, line...), '\n')
			}
		}
	}
	if len(main) > 0 {
		if err := r.Main.WriteRecord(ctx, string(main)); err != nil {
			return err
		}
	}
	if len(pos) == 0 {
		return nil
	}
	err := r.Positions.WriteRecord(ctx, string(pos))
	if err != nil && r.Drop != nil && r.Drop(err) {
		if r.Dropped != nil {
			r.Dropped(bytes.Count(pos, []byte{'\n'}), err)
		}
		return nil
	}
	return err
}

// WithoutPositions returns rec (a spool record) without its position lines, for the
// dead-letter log: a record InfluxDB refused is kept there for people to read, and a
// person's whereabouts are not theirs to read. It returns rec itself when it holds
// no position.
func WithoutPositions(rec []byte) []byte {
	if !bytes.Contains(rec, []byte("\n"+PositionMeasurement+",")) {
		return rec
	}
	out := make([]byte, 0, len(rec))
	for rest := rec; len(rest) > 0; {
		line, tail, found := bytes.Cut(rest, []byte{'\n'})
		rest = tail
		if !bytes.HasPrefix(line, positionPrefix) {
			out = append(out, line...)
			if found {
				out = append(out, '\n')
			}
		}
	}
	return out
}
