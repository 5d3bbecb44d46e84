package dashboards_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"carebed/internal/devsvc"
)

// row is one row of a panel query's answer as text: InfluxDB's columns and tags, or
// a Prometheus series' labels and one finite sample in "value".
type row map[string]string

// influxSeries is one series of InfluxDB's answer.
type influxSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// influxQL runs a statement on the gateway's database as Grafana's datasource does
// (POST /query, epoch=ms) and returns its series.
func (s *stack) influxQL(q string) ([]influxSeries, error) {
	form := url.Values{"q": {q}, "db": {devsvc.DB}, "epoch": {"ms"}}
	resp, err := http.PostForm(s.influx.URL+"/query", form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Results []struct {
			Series []influxSeries `json:"series"`
			Error  string         `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w: %.200s", resp.Status, err, body)
	}
	if r.Error != "" || len(r.Results) != 1 || r.Results[0].Error != "" {
		return nil, fmt.Errorf("%s: %.300s", resp.Status, body)
	}
	return r.Results[0].Series, nil
}

// influxRows flattens series into rows; null values are left out.
func influxRows(ss []influxSeries) []row {
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
