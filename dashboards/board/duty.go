package board

import (
	"math"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/geomap"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	ql "carebed/dashboards/influxql"
)

// ackTarget is the design's target for someone to take a critical alert: before
// the ladder pages the township clinic (3 minutes).
const ackTarget = 180

// duty is the township duty staff's board: which homes need someone now, which
// villages lost contact, whether their people answer in time.
func duty() *dashboard.DashboardBuilder {
	return newBoard("carebed-duty", "乡镇值班",
		"Township duty: which homes need someone now, which villages have lost contact, and whether "+
			"the village doctors, visitors and the clinic answer in time.", "now-24h").
		Variables(append(placeVariables(), gatewayVariable())).
		WithPanel(openBySeverity(spec{1, "未处理告警", "How many alerts need someone now, by severity (critical, high, warning)?", 8, 6})).
		WithPanel(ackTimes(spec{2, "应答时间 p50 / p90", "How fast are alerts taken (median and 90th percentile " +
			"of the time to acknowledge over the time range)? Red above the 3-minute target.", 8, 6})).
		WithPanel(smsFailures(spec{3, "短信失败", "Did SMS pages fail or go undelivered in the time range? " +
			"Counted for the whole gateway: Prometheus has no place labels.", 8, 6})).
		WithPanel(openAlertTable(spec{4, "未处理告警清单", "Which alerts are open, how long, and who has taken " +
			"each (the role, never a name)? The code links to the alert in the gateway's API.", 24, 10})).
		WithPanel(homeMap(spec{5, "家庭状态地图", "Where are the homes that need someone? Red: an open alert; " +
			"orange: a device offline or silent; green: all well.", 12, 14})).
		WithPanel(outages(spec{6, "断联村庄", "Which villages lost contact: village outage alerts in the time " +
			"range (a power cut or a mast down) and devices offline now per village.", 12, 14})).
		WithPanel(alertsPerVillage(spec{7, "各村告警", "Where do alerts come from: alerts raised per village over time.", 12, 8})).
		WithPanel(ackOverTime(spec{8, "应答时间趋势", "Is the time to acknowledge getting better or worse " +
			"against the 3-minute target (p50 and p90 per interval)?", 12, 8})).
		WithPanel(visitsDue(spec{9, "探访巡诊 应访与逾期", "Which villages have homes due for a visit or a doctor's round " +
			"this morning, and how many are overdue (past their interval and grace)? From the morning lists (docs/visits.md).", 24, 8})).
		WithPanel(positionMap(spec{10, "流动人员位置", "Where are the township's people on the move (herders on their pastures): " +
			"the last position each device with a satellite receiver sent in the last 30 days, with the time of that fix " +
			"and its accuracy in metres. Only the selected places' devices.", 24, 14}))
}

// PositionsRP is the retention policy of the datasource's database that holds the
// position measurement: the gateway's default influx.positions_bucket on InfluxDB
// 1.8 ("carebed/positions"); on 2.x/3.x map the positions bucket to it (DBRP).
const PositionsRP = "positions"

// positionMap shows the last known position of every device in the selected places
// that sends positions (a herder's GPS pendant): one marker per device at its newest
// fix, with the fix's time (the time column), accuracy, home and device in the
// tooltip. The view fits the markers: pastures are far from the homes' map.
func positionMap(s spec) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Last(fieldLat), ql.Col(fieldLon), ql.Col("acc_m")).FromRP(PositionsRP, "position").
		Where(append([]ql.Cond{ql.Since(recent)}, inPlaces()...)...).GroupBy("township", "village", "home", "device")
	markers := common.NewMapLayerOptionsBuilder().Type("markers").Name("最后位置 last position").Tooltip(true).
		Location(common.NewFrameGeometrySourceBuilder().Mode(common.FrameGeometrySourceModeCoords).
			Latitude(fieldLat).Longitude(fieldLon)).
		Config(map[string]any{"showLegend": false, "style": map[string]any{
			"color": map[string]any{"fixed": blue}, "size": map[string]any{"fixed": 7}, "opacity": 0.9,
			"symbol": map[string]any{"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
			"text":   map[string]any{"mode": "field", "field": "home"}, "textConfig": map[string]any{"fontSize": 10, "offsetY": -12}}})
	return frame(geomap.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).
		View(geomap.NewMapViewConfigBuilder().Id("fit").Lat(43).Lon(85).Zoom(7).MaxZoom(12).Padding(10).AllLayers(true)).
		Basemap(common.NewMapLayerOptionsBuilder().Type("default").Name("底图 basemap")).
		Controls(geomap.NewControlsOptionsBuilder().ShowZoom(true).MouseWheelZoom(true).ShowScale(true)).
		Tooltip(geomap.NewTooltipOptionsBuilder().Mode(geomap.TooltipModeDetails)).
		Layers([]cog.Builder[common.MapLayerOptions]{markers}).
		OverrideByName("Time", []dashboard.DynamicConfigValue{named("定位时间 fix time")}).
		OverrideByName("acc_m", []dashboard.DynamicConfigValue{named("精度 accuracy"), prop("unit", "lengthm")})
}

// visitsDue is each village's visits and rounds as the latest morning list saw them
// (measurement visits_due, written by gateway/visits).
func visitsDue(s spec) cog.Builder[dashboard.Panel] {
	q := ql.Select(ql.Last("homes"), ql.Last("due"), ql.Last("overdue")).From("visits_due").
		Where(append([]ql.Cond{ql.TimeFilter}, inPlaces()...)...).GroupBy("township", "village", "kind")
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).
		WithTransformation(hideColumns("Time")).
		OverrideByName("kind", []dashboard.DynamicConfigValue{named("类别 kind"),
			prop("mappings", []dashboard.ValueMapping{textFor([3]string{"visit", "探访", green}, [3]string{"round", "巡诊", green})})}).
		OverrideByName("homes", []dashboard.DynamicConfigValue{named("在册户 homes")}).
		OverrideByName("due", []dashboard.DynamicConfigValue{named("今日应访 due")}).
		OverrideByName("overdue", []dashboard.DynamicConfigValue{named("逾期 overdue"),
			prop("thresholds", thresholdsValue(step{0, green}, step{1, red})),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})})
}

func openBySeverity(s spec) cog.Builder[dashboard.Panel] {
	q := openAlerts(ql.Fn("count", "state").As("open"), nil, "severity")
	return statPanel(s, influxDS, influx("A", q, ql.TimeSeries)).DisplayName("${__field.labels.severity}").
		Thresholds(thresholds(step{0, green}, step{1, red})).NoValue("0")
}

// ackPercentiles are the median and 90th percentile of the time to acknowledge.
func ackPercentiles() *ql.Query {
	return ql.Select(ql.Fn("percentile", "ack_seconds", "50").As("p50"), ql.Fn("percentile", "ack_seconds", "90").As("p90")).
		From("alert").Where(append([]ql.Cond{ql.TimeFilter}, inPlaces()...)...)
}

func ackTimes(s spec) cog.Builder[dashboard.Panel] {
	return statPanel(s, influxDS, influx("A", ackPercentiles(), ql.TimeSeries)).Unit("s").
		Thresholds(thresholds(step{0, green}, step{ackTarget, red}))
}

func ackOverTime(s spec) cog.Builder[dashboard.Panel] {
	q := ackPercentiles().GroupByTime("$__interval").Fill("none")
	return chart(timeseries.NewPanelBuilder(), s, influxDS, influx("A", q, ql.TimeSeries)).Interval("1h").Unit("s").
		DrawStyle(common.GraphDrawStylePoints).PointSize(8).
		Thresholds(thresholds(step{0, green}, step{ackTarget, red})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

func smsFailures(s spec) cog.Builder[dashboard.Panel] {
	expr := `sum by (result) (increase(carebed_notification_attempts_total{channel="sms", result=~"failed|undelivered"}[$__range]))`
	return statPanel(s, promDS, prom("A", expr, "{{result}}")).Decimals(0).NoValue("0").
		Thresholds(thresholds(step{0, green}, step{1, red}))
}

// openAlertColumns are what the open-alert table shows of each alert besides its
// place, kind and severity.
var openAlertColumns = []string{"code", "id", "opened_ms", "ack_role"}

func openAlertTable(s spec) cog.Builder[dashboard.Panel] {
	q := openAlertRows(openAlertColumns, nil, "township", "village", "home", "kind", "severity")
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", q, ql.Table)).
		WithTransformation(hideColumns("Time")).
		OverrideByName("state", []dashboard.DynamicConfigValue{named("状态 state")}).
		OverrideByName("code", []dashboard.DynamicConfigValue{named("编号 code"),
			prop("links", []map[string]any{alertLink})}).
		OverrideByName("id", []dashboard.DynamicConfigValue{named("告警号 id")}).
		OverrideByName("opened_ms", []dashboard.DynamicConfigValue{named("开始 opened"), age()}).
		OverrideByName("ack_role", []dashboard.DynamicConfigValue{named("接手 who has it"),
			prop("mappings", []dashboard.ValueMapping{roleNames()}),
			prop("custom.cellOptions", map[string]any{"type": "color-text"})})
}

// alertLink is a data link that opens the row's alert in the gateway's duty console,
// where it can be taken, handed over and closed.
var alertLink = map[string]any{"title": "处理警报 open in the duty console",
	"url": "${gateway}/console/alerts/${__data.fields.id}", "targetBlank": true}

// roleNames shows who took an alert in Chinese, and nobody in red.
func roleNames() dashboard.ValueMapping {
	return textFor([3]string{"", "无人接手 nobody yet", red}, [3]string{"family", "家属", green},
		[3]string{"village_visitor", "探访员", green}, [3]string{"village_doctor", "村医", green},
		[3]string{"township_clinic", "乡镇卫生院", green}, [3]string{"county_centre", "县中心", green},
		[3]string{"other", "其他 other", green})
}

// Home states on the map: the largest of 10 × open alerts (other than a device
// offline), devices whose status says offline, and devices with an open
// device-offline alert (silent for three heartbeats): 0 ok, 1-9 offline, 10 and more
// an open alert.
const (
	fieldLat, fieldLon = "lat", "lon"
	alertScore         = "alert_score"
	offlineDevices     = "offline_devices"
	silentCount        = "silent_devices"
	homeState          = "state"
)

func homeMap(s spec) cog.Builder[dashboard.Panel] {
	homes := ql.Select(ql.Last(fieldLat), ql.Last(fieldLon), ql.Last("devices")).From("home").Where(inPlaces()...).GroupBy("home")
	alerts := openAlerts(ql.Fn("count", "state").Times(10).As(alertScore), []ql.Cond{ql.IsNot("kind", "device_offline")}, "home")
	silent := openAlerts(ql.Fn("count", "state").As(silentCount), []ql.Cond{ql.Is("kind", "device_offline")}, "home")
	markers := common.NewMapLayerOptionsBuilder().Type("markers").Name("家庭 homes").Tooltip(true).
		Location(common.NewFrameGeometrySourceBuilder().Mode(common.FrameGeometrySourceModeCoords).
			Latitude(fieldLat).Longitude(fieldLon)).
		Config(map[string]any{"showLegend": true, "style": map[string]any{
			"color": map[string]any{"field": homeState, "fixed": green}, "size": map[string]any{"fixed": 6},
			"opacity": 0.8, "symbol": map[string]any{"mode": "fixed", "fixed": "img/icons/marker/circle.svg"}}})
	return frame(geomap.NewPanelBuilder(), s, influxDS, influx("A", homes, ql.Table), influx("B", alerts, ql.Table),
		influx("C", devicesOnline(offlineDevices, false, "home"), ql.Table), influx("D", silent, ql.Table)).
		WithTransformation(joinBy("home")).
		WithTransformation(transform("calculateField", map[string]any{"mode": "reduceRow", "alias": homeState,
			"reduce": map[string]any{"reducer": "max", "include": []string{alertScore, offlineDevices, silentCount}}})).
		View(geomap.NewMapViewConfigBuilder().Id("coords").Lat(42).Lon(86).Zoom(7)).
		Basemap(common.NewMapLayerOptionsBuilder().Type("default").Name("底图 basemap")).
		Controls(geomap.NewControlsOptionsBuilder().ShowZoom(true).MouseWheelZoom(true).ShowScale(true)).
		Tooltip(geomap.NewTooltipOptionsBuilder().Mode(geomap.TooltipModeDetails)).
		Layers([]cog.Builder[common.MapLayerOptions]{markers}).
		Mappings([]dashboard.ValueMapping{nullText("正常 ok", green), rangeText(math.Inf(-1), 0, "正常 ok", green),
			rangeText(1, 9, "离线 offline", orange), rangeText(10, math.Inf(1), "有告警 open alert", red)})
}

func outages(s spec) cog.Builder[dashboard.Panel] {
	conds := append([]ql.Cond{ql.TimeFilter, ql.Is("kind", "village_outage")}, inPlaces()...)
	alerts := ql.Select(ql.Last("state"), ql.Last("code"), ql.Last("opened_ms")).From("alert").Where(conds...).GroupBy("township", "village")
	return frame(table.NewPanelBuilder(), s, influxDS, influx("A", alerts, ql.Table),
		influx("B", devicesOnline(offlineDevices, false, "township", "village"), ql.Table)).
		WithTransformation(joinBy("village")).
		OverrideByName("state", []dashboard.DynamicConfigValue{named("断联告警 outage alert")}).
		OverrideByName("opened_ms", []dashboard.DynamicConfigValue{named("开始 since"), age()}).
		OverrideByName(offlineDevices, []dashboard.DynamicConfigValue{named("离线设备 offline devices")})
}

func alertsPerVillage(s spec) cog.Builder[dashboard.Panel] {
	conds := append([]ql.Cond{ql.TimeFilter, ql.Is("change", "raised")}, inPlaces()...)
	q := ql.Select(ql.Fn("count", "id").As("alerts")).From("alert").Where(conds...).
		GroupByTime("$__interval").GroupBy("village").Fill("none")
	return chart(timeseries.NewPanelBuilder(), s, influxDS, influx("A", q, ql.TimeSeries)).Interval("10m").
		DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).DisplayName("${__field.labels.village}").
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
}
