package board

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	ql "carebed/dashboards/influxql"
)

// home is one home's board, for the duty staff and the village doctor looking into a
// home: how the elder is, what happened, whether the devices are well.
func home() *dashboard.DashboardBuilder {
	return newBoard("carebed-home", "家庭",
		"One home: the elder's bed occupancy, heart and breathing rates, the devices' events and alerts, "+
			"battery and signal, and when each device was last heard.", "now-24h").
		Variables(append(placeVariables(), homeVariable())).
		WithPanel(occupancy(spec{1, "床上有人", "Is the elder in bed, and since when? (bed sensors' occupied readings)", 24, 5})).
		WithPanel(vitals(spec{2, "心率与呼吸", "Are heart and breathing rates normal? (per minute, mean per interval)", 12, 8})).
		WithPanel(perDevice(spec{3, "电量", "Does a device need a new battery? Red at 15 % and below, " +
			"where the gateway raises a low-battery alert.", 6, 8}, "battery", "percent", step{0, red}, step{16, green})).
		WithPanel(perDevice(spec{4, "信号", "Is the devices' radio signal good enough (dBm)?", 6, 8},
			"rssi", "dBm", step{0, red}, step{-100, orange}, step{-85, green})).
		WithPanel(homeEvents(spec{5, "事件", "What did the devices report (SOS, falls, bed exits, ...), newest first? " +
			"Late events arrived more than a minute after they happened.", 8, 9})).
		WithPanel(homeAlerts(spec{6, "告警", "Which alerts did this home have, how did each go, and who took it?", 10, 9})).
		WithPanel(lastSeen(spec{7, "最后联系", "When did each device last send a reading?", 6, 9}))
}

// inHome keeps the selected home.
var inHome = ql.InVar("home", "home")

func occupancy(s spec) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Col("occupied")).From("telemetry").Where(ql.TimeFilter, inHome).GroupBy("device")
	return chart(statetimeline.NewPanelBuilder(), s, influxDS, influx("A", q, ql.TimeSeries)).
		DisplayName("${__field.labels.device}").ShowValue(common.VisibilityModeNever).
		Mappings([]dashboard.ValueMapping{textFor([3]string{"true", "在床 in bed", blue}, [3]string{"false", "离床 out of bed", grey})})
}

func vitals(s spec) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Fn("mean", "hr").As("hr"), ql.Fn("mean", "rr").As("rr")).From("telemetry").
		Where(ql.TimeFilter, inHome).GroupByTime("$__interval").Fill("none")
	return chart(timeseries.NewPanelBuilder(), s, influxDS, influx("A", q, ql.TimeSeries)).Unit("suffix:/min").
		OverrideByName("hr", []dashboard.DynamicConfigValue{named("心率 heart rate")}).
		OverrideByName("rr", []dashboard.DynamicConfigValue{named("呼吸 breathing rate")})
}

// perDevice plots a telemetry field per device of the home, coloured by steps.
func perDevice(s spec, field, unit string, steps ...step) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Fn("mean", field).As(field)).From("telemetry").Where(ql.TimeFilter, inHome).
		GroupByTime("$__interval").GroupBy("device").Fill("none")
	return chart(timeseries.NewPanelBuilder(), s, influxDS, influx("A", q, ql.TimeSeries)).Unit(unit).
		DisplayName("${__field.labels.device}").Thresholds(thresholds(steps...)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLineAndArea))
}

func homeEvents(s spec) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Col("type"), ql.Col("device"), ql.Col("late")).From("event").Where(ql.TimeFilter, inHome).Newest(100)
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).
		OverrideByName("type", []dashboard.DynamicConfigValue{named("事件 event")}).
		OverrideByName("late", []dashboard.DynamicConfigValue{named("迟到 late")})
}

func homeAlerts(s spec) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Col("kind"), ql.Col("severity"), ql.Col("change"), ql.Col("code"), ql.Col("ack_role")).
		From("alert").Where(ql.TimeFilter, inHome).Newest(100)
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).
		OverrideByName("change", []dashboard.DynamicConfigValue{named("变化 change")}).
		OverrideByName("ack_role", []dashboard.DynamicConfigValue{named("接手 taken by"),
			prop("mappings", []dashboard.ValueMapping{roleNames()})})
}

func lastSeen(s spec) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Last("seq")).From("telemetry").Where(ql.Since(recent), inHome).GroupBy("device", "kind")
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).
		WithTransformation(hideColumns("seq")).
		OverrideByName("Time", []dashboard.DynamicConfigValue{named("最后读数 last reading"), age()})
}
