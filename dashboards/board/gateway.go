package board

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// gatewayOps is the county IT office's board of the gateway itself, from the
// carebed_* metrics in Prometheus (docs/operations.md says what each means).
func gatewayOps() *dashboard.DashboardBuilder {
	return newBoard("carebed-gateway", "网关运行",
		"Gateway operations (Prometheus): ingest rate and rejects, ingest latency, the spool's backlog, "+
			"InfluxDB write errors, notifications by channel and result, event-to-SMS latency, and Mosquitto's queue.", "now-6h").
		Variables([]cog.Builder[dashboard.VariableModel]{instanceVariable()}).
		WithPanel(series(spec{1, "接收速率", "How many messages does the gateway take in per second, by topic kind " +
			"and result (stored, duplicate, rejected)?", 12, 8}, "suffix:/s",
			prom("A", rateBy("carebed_ingest_messages_total", "kind, result"), "{{kind}} {{result}}"))).
		WithPanel(series(spec{2, "拒收原因", "Why are messages rejected (watch for a rise after a firmware update)?", 12, 8},
			"suffix:/s", prom("A", rateBy("carebed_ingest_rejects_total", "reason"), "{{reason}}"))).
		WithPanel(series(spec{3, "接收延迟", "How long from receiving a message to its durable hand-off, " +
			"when the PUBACK may go (p50, p99)? Watch p99 above a second.", 8, 8}, "s",
			prom("A", quantile(0.5, "carebed_ingest_latency_seconds", ""), "p50"),
			prom("B", quantile(0.99, "carebed_ingest_latency_seconds", ""), "p99"))).
		WithPanel(spoolBacklog(spec{4, "缓冲积压", "Is a backlog building up for InfluxDB: records in the spool, " +
			"and the age of the oldest (right axis)?", 8, 8})).
		WithPanel(series(spec{5, "InfluxDB 写入", "Do writes to InfluxDB fail, and with which HTTP status " +
			"(0: unreachable, 401/403: token, 404: database or bucket missing)?", 8, 8}, "suffix:/s",
			prom("A", rateBy("carebed_influx_write_errors_total", "status"), "error {{status}}"),
			prom("B", rateBy("carebed_influx_write_batches_total", "result"), "batches {{result}}"))).
		WithPanel(series(spec{6, "通知结果", "Are pages going out: notifications per minute by channel and result " +
			"(sent, failed, skipped; delivered, undelivered from receipts)?", 12, 8}, "suffix:/min",
			prom("A", rateBy("carebed_notification_attempts_total", "channel, result")+" * 60", "{{channel}} {{result}}"))).
		WithPanel(series(spec{7, "事件到短信", "How long from the device's event to the alert's first page " +
			"(p50, p90, by channel)?", 12, 8}, "s",
			prom("A", quantile(0.5, "carebed_alert_event_to_notification_seconds", "channel"), "p50 {{channel}}"),
			prom("B", quantile(0.9, "carebed_alert_event_to_notification_seconds", "channel"), "p90 {{channel}}"))).
		WithPanel(brokerQueue(spec{8, "消息服务器", "Does Mosquitto hold many messages (someone is not taking theirs: " +
			"the gateway away?), and has it dropped any for a full queue (right axis; each one is lost)?", 12, 8}))
}

// brokerQueue is what Mosquitto says of itself, through the gateway: messages held,
// and messages dropped per minute.
func brokerQueue(s spec) cog.Builder[dashboard.Panel] {
	return series(s, "short",
		prom("A", "max(carebed_broker_stored_messages"+ofInstances+")", "held"),
		prom("B", "sum(rate(carebed_broker_dropped_messages_total"+ofInstances+"[$__rate_interval])) * 60", "dropped/min")).
		OverrideByQuery("B", []dashboard.DynamicConfigValue{prop("custom.axisPlacement", "right")})
}

// ofInstances selects the series of the gateways chosen in $instance.
const ofInstances = `{instance=~"$instance"}`

// rateBy is the per-second rate of a counter summed by the labels by.
func rateBy(counter, by string) string {
	return fmt.Sprintf("sum by (%s) (rate(%s%s[$__rate_interval]))", by, counter, ofInstances)
}

// quantile is the q-quantile of a histogram, per value of the label by ("" for one).
func quantile(q float64, histogram, by string) string {
	le := "le"
	if by != "" {
		le += ", " + by
	}
	return fmt.Sprintf("histogram_quantile(%g, sum by (%s) (rate(%s_bucket%s[$__rate_interval])))", q, le, histogram, ofInstances)
}

// series is a time series panel of Prometheus queries.
func series(s spec, unit string, targets ...cog.Builder[variants.Dataquery]) *timeseries.PanelBuilder {
	return chart(timeseries.NewPanelBuilder(), s, promDS, targets...).Unit(unit)
}

func spoolBacklog(s spec) cog.Builder[dashboard.Panel] {
	return series(s, "short",
		prom("A", "sum(carebed_spool_depth_records"+ofInstances+")", "records"),
		prom("B", "max(carebed_spool_oldest_age_seconds"+ofInstances+")", "oldest")).
		OverrideByQuery("B", []dashboard.DynamicConfigValue{prop("unit", "s"), prop("custom.axisPlacement", "right")})
}
