package board

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"

	ql "carebed/dashboards/influxql"
)

// lowBattery is the battery level the fleet board lists devices at; the gateway
// raises a low-battery alert at 15 %.
const lowBattery = 20

// fleet is the device fleet's board: for the duty staff and the county IT office
// planning visits to change batteries and fix devices.
func fleet() *dashboard.DashboardBuilder {
	return newBoard("carebed-fleet", "设备",
		"Device fleet: devices online and offline, low batteries, devices silent longer than their heartbeat, "+
			"firmware versions, and villages whose readings arrive late or replayed (poor signal).", "now-24h").
		Variables(placeVariables()).
		WithPanel(onlineOffline(spec{1, "在线 / 离线", "How many devices are online and offline now (their latest status)?", 8, 9})).
		WithPanel(lowBatteries(spec{2, "低电量", "Which devices need a new battery (latest reading 20 % or less)?", 8, 9})).
		WithPanel(silentDevices(spec{3, "静默设备", "Which devices have been silent for three heartbeats or sent " +
			"their Last Will (open device-offline alerts), and since when?", 8, 9})).
		WithPanel(firmware(spec{4, "固件版本", "Which firmware versions run, on how many devices of each kind?", 8, 9})).
		WithPanel(lateShare(spec{5, "迟到与补传（按村）", "Which villages have poor signal: the share of readings " +
			"that arrived late, and that were replayed after an offline period, over the time range.", 16, 9}))
}

func onlineOffline(s spec) cog.Builder[dashboard.Panel] {
	return statPanel(s, influxDS, influx("A", devicesOnline("online", true), ql.TimeSeries),
		influx("B", devicesOnline("offline", false), ql.TimeSeries)).NoValue("0").
		OverrideByName("online", []dashboard.DynamicConfigValue{named("在线 online"), fixedColor(green)}).
		OverrideByName("offline", []dashboard.DynamicConfigValue{named("离线 offline"), fixedColor(red)})
}

func lowBatteries(s spec) cog.Builder[dashboard.Panel] {
	by := []string{"village", "home", "device"}
	q := ql.Select(ql.Col("battery")).FromQuery(newest("telemetry", []string{"battery"}, nil, by...)).
		Where(ql.AtMost("battery", lowBattery)).GroupBy(by...)
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).WithTransformation(hideColumns("Time")).
		OverrideByName("battery", []dashboard.DynamicConfigValue{named("电量 battery"), prop("unit", "percent"),
			prop("thresholds", thresholdsValue(step{0, red}, step{16, orange})),
			prop("custom.cellOptions", map[string]any{"type": "color-background"})})
}

func silentDevices(s spec) cog.Builder[dashboard.Panel] {
	q := openAlertRows([]string{"opened_ms", "code"}, []ql.Cond{ql.Is("kind", "device_offline")}, "village", "home", "device")
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).WithTransformation(hideColumns("Time")).
		OverrideByName("opened_ms", []dashboard.DynamicConfigValue{named("静默自 silent since"), age()})
}

func firmware(s spec) cog.Builder[dashboard.Panel] {
	q := newest("device_status", []string{"fw"}, nil, "kind", "device")
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).
		WithTransformation(transform("groupBy", map[string]any{"fields": map[string]any{
			"fw": map[string]any{"operation": "groupby"}, "kind": map[string]any{"operation": "groupby"},
			"device": map[string]any{"operation": "aggregate", "aggregations": []string{"count"}}}})).
		OverrideByName("device (count)", []dashboard.DynamicConfigValue{named("设备数 devices")})
}

// readingsPerVillage counts readings per village over the time range where extra hold.
func readingsPerVillage(alias string, extra ...ql.Cond) *ql.Query {
	conds := append(append([]ql.Cond{ql.TimeFilter}, inPlaces()...), extra...)
	return ql.Select(ql.Fn("count", "seq").As(alias)).From("telemetry").Where(conds...).GroupBy("village")
}

func lateShare(s spec) cog.Builder[dashboard.Panel] {
	share := []dashboard.DynamicConfigValue{prop("unit", "percentunit"),
		prop("custom.cellOptions", map[string]any{"type": "gauge", "mode": "basic"})}
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", readingsPerVillage("readings"), ql.Table),
		influx("B", readingsPerVillage("late", ql.IsBool("late", true)), ql.Table),
		influx("C", readingsPerVillage("replayed", ql.IsBool("replayed", true)), ql.Table)).
		WithTransformation(joinBy("village")).
		WithTransformation(ratio("late", "readings", "late_share")).
		WithTransformation(ratio("replayed", "readings", "replayed_share")).
		OverrideByName("late_share", append([]dashboard.DynamicConfigValue{named("迟到比例 late")}, share...)).
		OverrideByName("replayed_share", append([]dashboard.DynamicConfigValue{named("补传比例 replayed")}, share...))
}
