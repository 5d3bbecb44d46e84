package service

import (
	"context"
	"os"

	"carebed/gateway/console"
	"carebed/gateway/influxread"
	"carebed/gateway/inspect"
	"carebed/gateway/report"
)

// buildReportPage adds the console's 月报 page: the monthly supervision report of
// the signed-in user's area, made on request from the alert store, the registry and
// InfluxDB (docs/report.md). The PDF needs Chromium (CAREBED_CHROMIUM, or chromium
// on the PATH); without it the page offers the HTML and the workbook.
func (g *Gateway) buildReportPage() error {
	pol, err := g.policy()
	if err != nil {
		return err
	}
	ic := g.cfg.Influx
	var q report.Querier
	if ic.URL != "" {
		q = influxread.New(ic.URL, ic.Bucket, ic.Token)
	}
	chromium, _ := report.FindChromium(os.Getenv("CAREBED_CHROMIUM"))
	maker := report.Maker{Chromium: chromium, Now: g.now, Sources: func(ctx context.Context) (report.Sources, error) {
		homes, err := report.HomesFrom(ctx, g.reg)
		return report.Sources{Alerts: g.alerts, Influx: q, Homes: homes, Policy: pol,
			Inspection: func(ctx context.Context, m inspect.Month) (inspect.Record, error) {
				return inspect.ReadMonth(ctx, g.cfg.DataDir, m)
			}}, err
	}}
	g.reportPage, err = console.NewReportPage(g.console, maker)
	return err
}
