package visits

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"carebed/gateway/influxread"
)

// History says whether a home's stored sensor data shows someone there between two
// times; InfluxHistory is one. The visits service asks it when its memory has no
// evidence for a check-in (after a restart, the activity seen before it is gone).
type History interface {
	Active(ctx context.Context, home string, from, to time.Time) (bool, error)
}

// Querier runs InfluxQL; *influxread.Client is one.
type Querier interface {
	Series(ctx context.Context, q string) ([]influxread.Series, error)
}

// InfluxHistory reads the event and telemetry measurements (docs/operations.md) with
// the rule of Observe: any event but low_battery, motion at or over MotionThreshold,
// or a device's occupancy that changed.
type InfluxHistory struct{ Q Querier }

// historyTimeout bounds the queries, which an SMS webhook waits for.
const historyTimeout = 3 * time.Second

// Active implements History.
func (h InfluxHistory) Active(ctx context.Context, home string, from, to time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	span := fmt.Sprintf("home = %s AND time >= %dms AND time <= %dms", influxread.Quote(home), from.UnixMilli(), to.UnixMilli())
	for _, q := range []string{
		`SELECT COUNT(seq) FROM event WHERE type != 'low_battery' AND ` + span,
		fmt.Sprintf(`SELECT COUNT(motion) FROM telemetry WHERE motion >= %g AND %s`, MotionThreshold, span),
	} {
		ss, err := h.Q.Series(ctx, q)
		if err != nil {
			return false, fmt.Errorf("visits: history: %w", err)
		}
		if countOf(ss) > 0 {
			return true, nil
		}
	}
	ss, err := h.Q.Series(ctx, `SELECT occupied FROM telemetry WHERE `+span+` GROUP BY device`)
	if err != nil {
		return false, fmt.Errorf("visits: history: %w", err)
	}
	return occupancyChanged(ss), nil
}

// countOf is the first count of an answer (a json.Number), 0 for none.
func countOf(ss []influxread.Series) int64 {
	for _, s := range ss {
		for _, row := range s.Values {
			if len(row) > 1 {
				if n, ok := row[1].(json.Number); ok {
					v, _ := n.Int64()
					return v
				}
			}
		}
	}
	return 0
}

// occupancyChanged reports whether a device's occupied field changed between two
// consecutive readings (one series per device, in time order).
func occupancyChanged(ss []influxread.Series) bool {
	for _, s := range ss {
		var prev any
		for i, row := range s.Values {
			if len(row) < 2 || row[1] == nil {
				continue
			}
			if i > 0 && prev != nil && prev != row[1] {
				return true
			}
			prev = row[1]
		}
	}
	return false
}
