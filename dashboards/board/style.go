package board

import (
	"math"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"

	"carebed/dashboards/influxql"
)

// spec is what every panel has: its id on the board, a Chinese title, an English
// description saying which question it answers, and its size on the 24-column grid.
type spec struct {
	id          uint32
	title, desc string
	w, h        uint32
}

// panelBuilder is what the SDK's panel builders of every type have in common.
type panelBuilder[B any] interface {
	Id(id uint32) B
	Title(title string) B
	Description(description string) B
	Span(w uint32) B
	Height(h uint32) B
	Datasource(datasource common.DataSourceRef) B
	WithTarget(target cog.Builder[variants.Dataquery]) B
}

// frame sets a panel's spec, datasource and queries.
func frame[B panelBuilder[B]](b B, s spec, ds common.DataSourceRef, targets ...cog.Builder[variants.Dataquery]) B {
	b = b.Id(s.id).Title(s.title).Description(s.desc).Span(s.w).Height(s.h).Datasource(ds)
	for _, t := range targets {
		b = b.WithTarget(t)
	}
	return b
}

// chartBuilder is what the time series and state timeline builders share.
type chartBuilder[B any] interface {
	panelBuilder[B]
	Legend(legend cog.Builder[common.VizLegendOptions]) B
	Tooltip(tooltip cog.Builder[common.VizTooltipOptions]) B
}

// chart is frame with a legend below and a tooltip listing every series.
func chart[B chartBuilder[B]](b B, s spec, ds common.DataSourceRef, targets ...cog.Builder[variants.Dataquery]) B {
	return frame(b, s, ds, targets...).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
}

// influx is an InfluxQL panel query.
func influx(refID string, q *influxql.Query, f influxql.Format) cog.Builder[variants.Dataquery] {
	return influxql.NewTarget(refID, influxDS, q, f)
}

// prom is a PromQL range query with a legend.
func prom(refID, expr, legend string) cog.Builder[variants.Dataquery] {
	return prometheus.NewDataqueryBuilder().RefId(refID).Datasource(promDS).Expr(expr).LegendFormat(legend).Range()
}

// Grafana's named colours used on the boards.
const (
	green  = "green"
	orange = "orange"
	red    = "red"
	blue   = "blue"
	grey   = "text"
)

// step is one threshold: at and above value, color (the first step's value is
// ignored: it is the base).
type step struct {
	value float64
	color string
}

// thresholds makes absolute thresholds; the first step is the base colour.
func thresholds(steps ...step) cog.Builder[dashboard.ThresholdsConfig] {
	out := make([]dashboard.Threshold, len(steps))
	for i, s := range steps {
		out[i] = dashboard.Threshold{Color: s.color}
		if i > 0 {
			out[i].Value = ptr(s.value)
		}
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(out)
}

// thresholdsValue is thresholds as a field override's value.
func thresholdsValue(steps ...step) dashboard.ThresholdsConfig {
	t, _ := thresholds(steps...).Build() // cannot fail: no required field is left out
	return t
}

// fixedColor colours a field with one colour.
func fixedColor(color string) dashboard.DynamicConfigValue {
	return prop("color", map[string]any{"mode": "fixed", "fixedColor": color})
}

// textFor maps exact values (strings, or true/false) to a text and colour.
func textFor(pairs ...[3]string) dashboard.ValueMapping {
	opts := make(map[string]dashboard.ValueMappingResult, len(pairs))
	for i, p := range pairs {
		opts[p[0]] = dashboard.ValueMappingResult{Text: ptr(p[1]), Color: ptr(p[2]), Index: ptr(int32(i))}
	}
	return dashboard.ValueMapping{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}
}

// rangeText maps values in [from, to] to a text and colour; ±Inf leaves an end open.
func rangeText(from, to float64, text, color string) dashboard.ValueMapping {
	opts := dashboard.DashboardRangeMapOptions{Result: dashboard.ValueMappingResult{Text: &text, Color: &color}}
	if !math.IsInf(from, -1) {
		opts.From = ptr(from)
	}
	if !math.IsInf(to, 1) {
		opts.To = ptr(to)
	}
	return dashboard.ValueMapping{RangeMap: &dashboard.RangeMap{Type: dashboard.MappingTypeRangeToText, Options: opts}}
}

// nullText maps a missing value to a text and colour.
func nullText(text, color string) dashboard.ValueMapping {
	return dashboard.ValueMapping{SpecialValueMap: &dashboard.SpecialValueMap{Type: dashboard.MappingTypeSpecialValue,
		Options: dashboard.DashboardSpecialValueMapOptions{Match: dashboard.SpecialValueMatchNull,
			Result: dashboard.ValueMappingResult{Text: &text, Color: &color}}}}
}

// prop is one field property of an override.
func prop(id string, value any) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: id, Value: value}
}

// named sets a column's display name.
func named(name string) dashboard.DynamicConfigValue { return prop("displayName", name) }

// age shows a Unix-milliseconds column as "3 minutes ago".
func age() dashboard.DynamicConfigValue { return prop("unit", "dateTimeFromNow") }

// transform is a panel transformation.
func transform(id string, options map[string]any) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: id, Options: options}
}

// joinBy joins the answers of a panel's queries into one table on a column, keeping
// rows that only some queries have.
func joinBy(column string) dashboard.DataTransformerConfig {
	return transform("joinByField", map[string]any{"byField": column, "mode": "outer"})
}

// hideColumns hides columns of a table (Grafana's organize transformation).
func hideColumns(names ...string) dashboard.DataTransformerConfig {
	hidden := make(map[string]any, len(names))
	for _, n := range names {
		hidden[n] = true
	}
	return transform("organize", map[string]any{"excludeByName": hidden})
}

// ratio adds the column alias = numerator / denominator.
func ratio(numerator, denominator, alias string) dashboard.DataTransformerConfig {
	return transform("calculateField", map[string]any{"mode": "binary", "alias": alias,
		"binary": map[string]any{"left": numerator, "operator": "/", "right": denominator}})
}

// statPanel is a stat showing each series' newest value with its name.
func statPanel(s spec, ds common.DataSourceRef, targets ...cog.Builder[variants.Dataquery]) *stat.PanelBuilder {
	return frame(stat.NewPanelBuilder(), s, ds, targets...).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		GraphMode(common.BigValueGraphModeNone).ColorMode(common.BigValueColorModeBackground).
		TextMode(common.BigValueTextModeValueAndName).Orientation(common.VizOrientationAuto)
}
