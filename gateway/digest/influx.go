package digest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"carebed/gateway/influxread"
)

// Querier runs InfluxQL; *influxread.Client is one.
type Querier interface {
	Series(ctx context.Context, q string) ([]influxread.Series, error)
}

// InfluxSleep reads the telemetry measurement's occupied field and the event
// measurement's bed_exit events (docs/protocol.md, gateway/points).
type InfluxSleep struct{ Q Querier }

// queryTimeout bounds each query.
const queryTimeout = 30 * time.Second

// span is the WHERE clause of a home and a time range.
func span(home string, from, to time.Time) string {
	return fmt.Sprintf("home = %s AND time >= %dms AND time < %dms", influxread.Quote(home), from.UnixMilli(), to.UnixMilli())
}

// Occupancy implements Sleep.
func (s InfluxSleep) Occupancy(ctx context.Context, home string, from, to time.Time) ([]Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	ss, err := s.Q.Series(ctx, `SELECT occupied FROM telemetry WHERE `+span(home, from, to)+` GROUP BY device`)
	if err != nil {
		return nil, fmt.Errorf("digest: occupancy: %w", err)
	}
	var best []Reading
	for _, sr := range ss {
		var rs []Reading
		for _, row := range sr.Values {
			at, ok := rowTime(row)
			if !ok || len(row) < 2 {
				continue
			}
			if occ, ok := row[1].(bool); ok {
				rs = append(rs, Reading{At: at, Occupied: occ})
			}
		}
		if len(rs) > len(best) {
			best = rs
		}
	}
	slices.SortFunc(best, func(a, b Reading) int { return a.At.Compare(b.At) })
	return best, nil
}

// BedExits implements Sleep.
func (s InfluxSleep) BedExits(ctx context.Context, home string, from, to time.Time) ([]time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	ss, err := s.Q.Series(ctx, `SELECT seq FROM event WHERE type = 'bed_exit' AND `+span(home, from, to))
	if err != nil {
		return nil, fmt.Errorf("digest: bed exits: %w", err)
	}
	var out []time.Time
	for _, sr := range ss {
		for _, row := range sr.Values {
			if at, ok := rowTime(row); ok {
				out = append(out, at)
			}
		}
	}
	return out, nil
}

// rowTime is a row's time (epoch ms).
func rowTime(row []any) (time.Time, bool) {
	if len(row) == 0 {
		return time.Time{}, false
	}
	n, ok := row[0].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	ms, err := n.Int64()
	return time.UnixMilli(ms), err == nil
}
