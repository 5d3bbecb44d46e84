package board

import (
	"carebed/dashboards/influxql"
)

// Queries shared by the boards: how things stand now, from the newest point of each
// alert or device.

// newest selects the newest value of each field per group (by), from the last
// `recent` of data in the selected places where extra hold.
func newest(measurement string, fields []string, extra []influxql.Cond, by ...string) *influxql.Query {
	sel := make([]influxql.Field, len(fields))
	for i, f := range fields {
		sel[i] = influxql.Last(f)
	}
	conds := append(append([]influxql.Cond{influxql.Since(recent)}, inPlaces()...), extra...)
	return influxql.Select(sel...).From(measurement).Where(conds...).GroupBy(by...)
}

// countOf counts the groups of sub for which cond holds, per group of by.
func countOf(f influxql.Field, sub *influxql.Query, cond influxql.Cond, by ...string) *influxql.Query {
	return influxql.Select(f).FromQuery(sub).Where(cond).GroupBy(by...)
}

// stillOpen is the condition on an alert's newest state that it needs someone.
var stillOpen = influxql.IsNot("state", "resolved")

// openAlerts counts the open alerts (one per home and kind) per group of by; f is a
// count of "state".
func openAlerts(f influxql.Field, extra []influxql.Cond, by ...string) *influxql.Query {
	sub := newest("alert", []string{"state"}, extra, "home", "kind", "severity")
	return countOf(f, sub, stillOpen, by...)
}

// openAlertRows lists the open alerts with the newest value of cols, one row per
// group of by.
func openAlertRows(cols []string, extra []influxql.Cond, by ...string) *influxql.Query {
	all := append([]string{"state"}, cols...)
	sel := make([]influxql.Field, len(all))
	for i, c := range all {
		sel[i] = influxql.Col(c)
	}
	return influxql.Select(sel...).FromQuery(newest("alert", all, extra, by...)).Where(stillOpen).GroupBy(by...)
}

// devicesOnline counts devices whose newest status says online (or offline), per
// group of by.
func devicesOnline(alias string, online bool, by ...string) *influxql.Query {
	sub := newest("device_status", []string{"online"}, nil, append(append([]string{}, by...), "device")...)
	return countOf(influxql.Fn("count", "online").As(alias), sub, influxql.IsBool("online", online), by...)
}
