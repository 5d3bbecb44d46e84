// Package influxread reads recent telemetry back from InfluxDB with InfluxQL over the
// v1 /query endpoint, which InfluxDB 1.8, 2.x (v1 compatibility API) and 3.x answer:
// what the duty console shows as a home's recent readings.
package influxread

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client queries one database.
type Client struct {
	base, db, rp, token string
	http                *http.Client
}

// New returns a client for the gateway's influx settings: bucket is "db/rp" on 1.8
// (or a 2.x/3.x bucket name, which their v1 API maps to a database), token is
// "user:password" on 1.8 or an API token.
func New(baseURL, bucket, token string) *Client {
	db, rp, _ := strings.Cut(bucket, "/")
	return &Client{base: strings.TrimRight(baseURL, "/"), db: db, rp: rp, token: token,
		http: &http.Client{Timeout: 10 * time.Second}}
}

// Series is one series of an answer: its name, tags (GROUP BY), columns and rows.
// Numbers are json.Number (exact), booleans bool, strings string, null nil; time is
// in milliseconds.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Series runs q (a read, or a statement such as CREATE DATABASE: it is POSTed) and
// returns the series of its one result.
func (c *Client) Series(ctx context.Context, q string) ([]Series, error) {
	form := url.Values{"db": {c.db}, "q": {q}, "epoch": {"ms"}}
	if c.rp != "" {
		form.Set("rp", c.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.token != "" {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influxread: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("influxread: %w", err)
	}
	var body struct {
		Results []struct {
			Error  string   `json:"error"`
			Series []Series `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("influxread: %s: %w: %.200s", resp.Status, err, b)
	}
	switch {
	case body.Error == "" && resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("influxread: %s: %.200s", resp.Status, b)
	case body.Error != "":
		return nil, fmt.Errorf("influxread: %s: %s", resp.Status, body.Error)
	case len(body.Results) != 1:
		return nil, fmt.Errorf("influxread: %s: %d results for one statement: %.200s", resp.Status, len(body.Results), b)
	case body.Results[0].Error != "":
		return nil, errors.New("influxread: " + body.Results[0].Error)
	}
	return body.Results[0].Series, nil
}

// Row is one result row: its time and the named values (nil where empty).
type Row struct {
	Time   time.Time
	Values map[string]any
}

// Query runs q and returns the rows of its first series.
func (c *Client) Query(ctx context.Context, q string) ([]Row, error) {
	ss, err := c.Series(ctx, q)
	if err != nil || len(ss) == 0 {
		return nil, err
	}
	s := ss[0]
	out := make([]Row, 0, len(s.Values))
	for _, v := range s.Values {
		r := Row{Values: map[string]any{}}
		for i, col := range s.Columns {
			if i >= len(v) {
				break
			}
			if col == "time" {
				if n, ok := v[i].(json.Number); ok {
					if ms, err := n.Int64(); err == nil {
						r.Time = time.UnixMilli(ms)
					}
				}
				continue
			}
			r.Values[col] = v[i]
		}
		out = append(out, r)
	}
	return out, nil
}

// Quote makes s an InfluxQL string literal.
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Recent returns a home's telemetry of the last window, newest first, at most limit
// rows: device, hr, rr, occupied, battery, rssi.
func (c *Client) Recent(ctx context.Context, home string, window time.Duration, limit int) ([]Row, error) {
	q := fmt.Sprintf(`SELECT device, hr, rr, occupied, battery, rssi FROM telemetry WHERE home = %s AND time > now() - %ds ORDER BY time DESC LIMIT %d`,
		Quote(home), int(window.Seconds()), limit)
	return c.Query(ctx, q)
}
