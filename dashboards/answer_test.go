package dashboards_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"carebed/gateway/influxread"
	"carebed/internal/devsvc"
)

// row is one row of a panel query's answer as text: InfluxDB's columns and tags, or
// a Prometheus series' labels and one finite sample in "value".
type row map[string]string

// influxQL runs a statement on the gateway's database and returns its series.
func (s *stack) influxQL(q string) ([]influxread.Series, error) {
	return influxread.New(s.influx.URL, devsvc.DB, "").Series(context.Background(), q)
}

// influxRows flattens series into rows; null values are left out.
func influxRows(ss []influxread.Series) []row {
	var out []row
	for _, s := range ss {
		for _, vals := range s.Values {
			r := row{}
			for k, v := range s.Tags {
				if v != "" {
					r[k] = v
				}
			}
			for i, v := range vals {
				if v != nil && i < len(s.Columns) {
					r[s.Columns[i]] = fmt.Sprint(v)
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// promRows makes one row per finite sample, with the series' labels.
func promRows(ss []devsvc.Series) []row {
	var out []row
	for _, s := range ss {
		for _, smp := range s.Samples {
			if math.IsNaN(smp.Value) || math.IsInf(smp.Value, 0) {
				continue
			}
			r := row{"value": strconv.FormatFloat(smp.Value, 'g', -1, 64)}
			for k, v := range s.Labels {
				r[k] = v
			}
			out = append(out, r)
		}
	}
	return out
}

// want is what a panel query must answer.
type want struct {
	// columns must each have a value in some row: the query's fields and tags, or
	// the labels its legend shows.
	columns []string
	// spot, when set, are values one row must have; with positive, that row's
	// Prometheus value must also be above zero.
	spot     map[string]string
	positive bool
}

// check reports how rows fall short of w.
func (w want) check(rows []row) error {
	if len(rows) == 0 {
		return errors.New("no rows (or no finite values)")
	}
	var errs []error
	for _, c := range w.columns {
		if !anyRow(rows, func(r row) bool { return r[c] != "" }) {
			errs = append(errs, fmt.Errorf("no value for %q", c))
		}
	}
	if (len(w.spot) > 0 || w.positive) && !anyRow(rows, w.matches) {
		errs = append(errs, fmt.Errorf("no row with %v (value > 0: %v)", w.spot, w.positive))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w; first rows: %v", errors.Join(errs...), rows[:min(len(rows), 3)])
	}
	return nil
}

func (w want) matches(r row) bool {
	for k, v := range w.spot {
		if r[k] != v {
			return false
		}
	}
	if !w.positive {
		return true
	}
	v, err := strconv.ParseFloat(r["value"], 64)
	return err == nil && v > 0
}

func anyRow(rows []row, f func(row) bool) bool {
	for _, r := range rows {
		if f(r) {
			return true
		}
	}
	return false
}

// legendLabels are the labels a Prometheus legend shows, {{label}}.
func legendLabels(legend string) []string {
	var out []string
	for _, part := range strings.Split(legend, "{{")[1:] {
		if label, _, ok := strings.Cut(part, "}}"); ok {
			out = append(out, strings.TrimSpace(label))
		}
	}
	return out
}
