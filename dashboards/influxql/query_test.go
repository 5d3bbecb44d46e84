package influxql

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/common"
)

func TestQueryString(t *testing.T) {
	open := Select(Last("state"), Last("code")).From("alert").
		Where(Since("30d"), InVar("county", "county")).GroupBy("home", "kind")
	for _, c := range []struct {
		name    string
		q       *Query
		want    string
		columns []string
	}{
		{"time series",
			Select(Fn("mean", "hr"), Fn("mean", "rr").As("breaths")).From("telemetry").
				Where(TimeFilter, InVar("home", "home")).GroupByTime("$__interval").Fill("none"),
			`SELECT mean("hr") AS "hr", mean("rr") AS "breaths" FROM "telemetry" WHERE $timeFilter AND "home" =~ /^$home$/ GROUP BY time($__interval) fill(none)`,
			[]string{"hr", "breaths"}},
		{"subquery with field conditions",
			Select(Fn("count", "state").Times(10).As("alert_score")).FromQuery(open).
				Where(IsNot("state", "resolved")).GroupBy("home"),
			`SELECT count("state") * 10 AS "alert_score" FROM (SELECT last("state") AS "state", last("code") AS "code" FROM "alert" WHERE time > now() - 30d AND "county" =~ /^$county$/ GROUP BY "home", "kind") WHERE "state" != 'resolved' GROUP BY "home"`,
			[]string{"alert_score", "home"}},
		{"raw rows, newest first",
			Select(Col("type"), Col("late")).From("event").Where(TimeFilter, IsBool("late", true), AtMost("battery", 15)).Newest(50),
			`SELECT "type", "late" FROM "event" WHERE $timeFilter AND "late" = true AND "battery" <= 15 ORDER BY time DESC LIMIT 50`,
			[]string{"type", "late"}},
		{"percentiles",
			Select(Fn("percentile", "ack_seconds", "90").As("p90")).From("alert").Where(Is("change", "acknowledged")),
			`SELECT percentile("ack_seconds", 90) AS "p90" FROM "alert" WHERE "change" = 'acknowledged'`,
			[]string{"p90"}},
		{"retention policy, selector with its point's other fields",
			Select(Last("lat"), Col("lon")).FromRP("positions", "position").Where(Since("30d")).GroupBy("device"),
			`SELECT last("lat") AS "lat", "lon" FROM "positions"."position" WHERE time > now() - 30d GROUP BY "device"`,
			[]string{"lat", "lon", "device"}},
		{"quoting",
			Select(Col(`a"b`)).From("m").Where(Is("k", `it's \ here`)),
			`SELECT "a\"b" FROM "m" WHERE "k" = 'it\'s \\ here'`,
			[]string{`a"b`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.q.String(); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
			if got := c.q.Columns(); !reflect.DeepEqual(got, c.columns) {
				t.Errorf("columns %v, want %v", got, c.columns)
			}
		})
	}
}

func TestShowTagValues(t *testing.T) {
	got := ShowTagValues("home", "village", InVar("county", "county"), InVar("township", "township"))
	want := `SHOW TAG VALUES FROM "home" WITH KEY = "village" WHERE "county" =~ /^$county$/ AND "township" =~ /^$township$/`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTargetJSON(t *testing.T) {
	typ, uid := "influxdb", "carebed-influxdb"
	tg := NewTarget("A", common.DataSourceRef{Type: &typ, Uid: &uid}, Select(Last("lat")).From("home").GroupBy("home"), Table)
	b, err := json.Marshal(tg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"refId":"A","datasource":{"type":"influxdb","uid":"carebed-influxdb"},"query":"SELECT last(\"lat\") AS \"lat\" FROM \"home\" GROUP BY \"home\"","rawQuery":true,"resultFormat":"table"}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if _, err := (Target{}).Build(); err == nil {
		t.Error("an empty target built")
	}
	if !tg.Equals(tg) || tg.Equals(Target{RefID: "B"}) {
		t.Error("Equals")
	}
}
