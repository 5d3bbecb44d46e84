package board

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"carebed/dashboards/influxql"
)

// Datasource uids and types the boards reference; dashboards/provisioning/datasources
// defines datasources with exactly these uids.
const (
	InfluxUID      = "carebed-influxdb"
	InfluxType     = "influxdb"
	PrometheusUID  = "carebed-prometheus"
	PrometheusType = "prometheus"
)

var (
	influxDS = common.DataSourceRef{Type: ptr(InfluxType), Uid: ptr(InfluxUID)}
	promDS   = common.DataSourceRef{Type: ptr(PrometheusType), Uid: ptr(PrometheusUID)}
)

// recent is how far back the "how things stand now" panels look, whatever the
// dashboard's time range: an alert or a device status older than this is not shown.
const recent = "30d"

// places are the place variables, outermost first; each one's values are chained
// from the data (the home measurement) under the selections of those before it.
var places = []struct{ name, label string }{
	{"county", "县 county"}, {"township", "乡镇 township"}, {"village", "村 village"},
}

// inPlaces are the conditions of a query for the selected places.
func inPlaces() []influxql.Cond {
	out := make([]influxql.Cond, len(places))
	for i, p := range places {
		out[i] = influxql.InVar(p.name, p.name)
	}
	return out
}

// placeVariables are the county > township > village variables: multi-value with
// "All" (.*), each listing the tag values of the home measurement under the
// selections of the variables before it.
func placeVariables() []cog.Builder[dashboard.VariableModel] {
	conds := inPlaces()
	out := make([]cog.Builder[dashboard.VariableModel], len(places))
	for i, p := range places {
		out[i] = tagVariable(p.name, p.label, conds[:i]...).Multi(true).IncludeAll(true).AllValue(".*").
			Current(option("All", "$__all"))
	}
	return out
}

// homeVariable chooses one home among the selected villages.
func homeVariable() cog.Builder[dashboard.VariableModel] {
	return tagVariable("home", "户 home", inPlaces()...)
}

// tagVariable lists the values of the home measurement's tag key where conds hold.
func tagVariable(key, label string, conds ...influxql.Cond) *dashboard.QueryVariableBuilder {
	q := influxql.ShowTagValues("home", key, conds...)
	return dashboard.NewQueryVariableBuilder(key).Label(label).Datasource(influxDS).
		Query(dashboard.StringOrMap{String: &q}).Definition(q).
		Refresh(dashboard.VariableRefreshOnDashboardLoad).Sort(dashboard.VariableSortNaturalAsc)
}

// gatewayVariable is the base URL of the gateway's HTTP API, for links to alerts.
func gatewayVariable() cog.Builder[dashboard.VariableModel] {
	const def = "http://127.0.0.1:8080"
	return dashboard.NewTextBoxVariableBuilder("gateway").Label("网关 gateway").
		Description("Base URL of the gateway's HTTP API (http.addr, or the county's proxy in front of it).").
		DefaultValue(dashboard.StringOrMap{String: ptr(def)}).Current(option(def, def))
}

// instanceVariable chooses among the gateways Prometheus scrapes.
func instanceVariable() cog.Builder[dashboard.VariableModel] {
	q := "label_values(carebed_spool_depth_records, instance)"
	return dashboard.NewQueryVariableBuilder("instance").Label("网关实例 instance").Datasource(promDS).
		Query(dashboard.StringOrMap{String: &q}).Definition(q).Multi(true).IncludeAll(true).AllValue(".*").
		Current(option("All", "$__all")).Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortNaturalAsc)
}

func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{Selected: ptr(true), Text: dashboard.StringOrArrayOfString{String: &text},
		Value: dashboard.StringOrArrayOfString{String: &value}}
}

func ptr[T any](v T) *T { return &v }
