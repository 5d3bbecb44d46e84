package influxql

import (
	"errors"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// Format is how Grafana turns InfluxDB's answer into data frames.
type Format string

// Result formats of Grafana's InfluxDB datasource.
const (
	// TimeSeries makes one frame per series (per GROUP BY tag set).
	TimeSeries Format = "time_series"
	// Table makes one frame with the GROUP BY tags as columns: what tables, maps and
	// joins by a tag need.
	Table Format = "table"
)

// Target is a panel query of Grafana's InfluxDB datasource in InfluxQL raw mode. It is
// both the SDK's dataquery and its own builder.
type Target struct {
	RefID        string                `json:"refId"`
	Datasource   *common.DataSourceRef `json:"datasource,omitempty"`
	Query        string                `json:"query"`
	RawQuery     bool                  `json:"rawQuery"`
	ResultFormat Format                `json:"resultFormat"`
	// Columns are the columns and tags the answer has (Query.Columns), for tests; not
	// part of the dashboard JSON.
	Columns []string `json:"-"`
}

var (
	_ variants.Dataquery              = Target{}
	_ cog.Builder[variants.Dataquery] = Target{}
)

// NewTarget makes the panel query refID running q on the datasource ds.
func NewTarget(refID string, ds common.DataSourceRef, q *Query, f Format) Target {
	return Target{RefID: refID, Datasource: &ds, Query: q.String(), RawQuery: true, ResultFormat: f, Columns: q.Columns()}
}

// Build returns the target, or why it is not valid.
func (t Target) Build() (variants.Dataquery, error) { return t, t.Validate() }

// ImplementsDataqueryVariant marks Target as a dataquery for the SDK.
func (t Target) ImplementsDataqueryVariant() {}

// DataqueryType is the datasource plugin's id.
func (t Target) DataqueryType() string { return "influxdb" }

// Validate reports a target without refId or query.
func (t Target) Validate() error {
	if t.RefID == "" || t.Query == "" {
		return errors.New("influxql: a target needs a refId and a query")
	}
	return nil
}

// Equals reports whether other is the same target.
func (t Target) Equals(other variants.Dataquery) bool {
	o, ok := other.(Target)
	return ok && reflect.DeepEqual(t, o)
}
