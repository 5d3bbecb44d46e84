package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"carebed/gateway/influxread"
)

// influxData is what a report reads from InfluxDB for its scope.
type influxData struct {
	// err is why InfluxDB could not be read (nil: it was).
	err error
	// states are each device's online changes, oldest first.
	states map[string][]change
	// checkins are the month's visits and rounds by home.
	checkins map[string][]checkin
	// last is each home's latest visit and round before the month's end.
	last map[string]map[string]time.Time
}

// change is a device going online or offline at a time.
type change struct {
	at     time.Time
	online bool
}

// checkin is one visit (kind "visit") or round ("round").
type checkin struct {
	kind      string
	at        time.Time
	confirmed bool
}

// visitLookback is how far before the month's end a home's last visit is looked for.
const visitLookback = 400 * 24 * time.Hour

// readInflux runs the report's three queries; the first error stops it.
func readInflux(ctx context.Context, q Querier, m Month, s Scope) influxData {
	d := influxData{states: map[string][]change{}, checkins: map[string][]checkin{}, last: map[string]map[string]time.Time{}}
	if q == nil {
		d.err = errors.New("InfluxDB is not configured")
		return d
	}
	where := "county = " + influxread.Quote(s.County)
	if s.Township != "" {
		where += " AND township = " + influxread.Quote(s.Township)
	}
	span := func(from, to time.Time) string {
		return fmt.Sprintf("time >= '%s' AND time < '%s'", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	}
	steps := []struct {
		q    string
		read func([]influxread.Series) error
	}{
		{`SELECT last(online) FROM device_status, presence WHERE ` + where + ` AND time < '` + m.Start.UTC().Format(time.RFC3339Nano) + `' GROUP BY device`, d.readBefore},
		{`SELECT online FROM device_status, presence WHERE ` + where + ` AND ` + span(m.Start, m.Until) + ` GROUP BY device`, d.readStates},
		{`SELECT confirmed FROM visit, round WHERE ` + where + ` AND ` + span(m.Start, m.Until) + ` GROUP BY home`, d.readCheckins},
		{`SELECT last(id) FROM visit, round WHERE ` + where + ` AND ` + span(m.Until.Add(-visitLookback), m.Until) + ` GROUP BY home`, d.readLast},
	}
	for _, st := range steps {
		ss, err := q.Series(ctx, st.q)
		if err == nil {
			err = st.read(ss)
		}
		if err != nil {
			d.err = err
			return d
		}
	}
	for dev := range d.states {
		slices.SortStableFunc(d.states[dev], func(a, b change) int { return a.at.Compare(b.at) })
	}
	return d
}

func (d *influxData) readStates(ss []influxread.Series) error {
	return eachRow(ss, "online", func(s influxread.Series, at time.Time, v any) {
		if b, ok := v.(bool); ok {
			dev := s.Tags["device"]
			d.states[dev] = append(d.states[dev], change{at: at, online: b})
		}
	})
}

// readBefore keeps each device's last state before the month (of its status and
// presence series, the later), however old: a device online for months without a
// change has no point in the month.
func (d *influxData) readBefore(ss []influxread.Series) error {
	last := map[string]change{}
	err := eachRow(ss, "last", func(s influxread.Series, at time.Time, v any) {
		b, ok := v.(bool)
		dev := s.Tags["device"]
		if c, seen := last[dev]; ok && (!seen || at.After(c.at)) {
			last[dev] = change{at: at, online: b}
		}
	})
	for dev, c := range last {
		d.states[dev] = append(d.states[dev], c)
	}
	return err
}

func (d *influxData) readCheckins(ss []influxread.Series) error {
	return eachRow(ss, "confirmed", func(s influxread.Series, at time.Time, v any) {
		b, _ := v.(bool)
		home := s.Tags["home"]
		d.checkins[home] = append(d.checkins[home], checkin{kind: s.Name, at: at, confirmed: b})
	})
}

func (d *influxData) readLast(ss []influxread.Series) error {
	return eachRow(ss, "last", func(s influxread.Series, at time.Time, _ any) {
		home := s.Tags["home"]
		if d.last[home] == nil {
			d.last[home] = map[string]time.Time{}
		}
		d.last[home][s.Name] = at
	})
}

// eachRow calls f with the time and the value of column col of every row.
func eachRow(ss []influxread.Series, col string, f func(influxread.Series, time.Time, any)) error {
	for _, s := range ss {
		ti, ci := slices.Index(s.Columns, "time"), slices.Index(s.Columns, col)
		if ti < 0 || ci < 0 {
			return fmt.Errorf("influx: series %s has no %s column", s.Name, col)
		}
		for _, row := range s.Values {
			n, ok := row[ti].(json.Number)
			if !ok {
				continue
			}
			ms, err := n.Int64()
			if err != nil {
				return fmt.Errorf("influx: time %v: %w", row[ti], err)
			}
			f(s, time.UnixMilli(ms), row[ci])
		}
	}
	return nil
}
