package service

import (
	"context"
	"errors"
	"os"
	"time"

	"carebed/gateway/console"
	"carebed/gateway/digest"
	"carebed/gateway/influxread"
	"carebed/gateway/inspect"
	"carebed/gateway/report"
	"carebed/gateway/visits"
)

// buildReportPage adds the console's 月报 page: the monthly supervision report of
// the signed-in user's area, made on request from the alert store, the registry,
// InfluxDB and the data folder's inspect.db, visits.db and digest.db
// (docs/report.md). The PDF needs Chromium (CAREBED_CHROMIUM, or chromium on the
// PATH); without it the page offers the HTML and the workbook.
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
			Inspection: ReportInspection(g.cfg.DataDir, g.cfg.Database.URL), OtherSMS: ReportSMS(g.cfg.DataDir, g.cfg.Database.URL)}, err
	}}
	g.reportPage, err = console.NewReportPage(g.console, maker)
	return err
}

// ReportInspection reads the month's inspection draw (PostgreSQL with databaseURL,
// else the data folder's inspect.db) for the monthly report (the console and
// `gateway report monthly`).
func ReportInspection(dataDir, databaseURL string) report.InspectionReader {
	return func(ctx context.Context, m inspect.Month) (inspect.Record, error) {
		return inspect.ReadMonth(ctx, dataDir, databaseURL, m)
	}
}

// ReportSMS reads the SMS of the visits' morning lists and of the family digests
// (PostgreSQL with databaseURL, else visits.db and digest.db in the data folder) for
// the monthly report.
func ReportSMS(dataDir, databaseURL string) report.SMSReader {
	return func(ctx context.Context, from, to time.Time) ([]report.SMSSend, error) {
		lists, lerr := visits.ReadSMS(ctx, dataDir, databaseURL, from, to)
		digests, derr := digest.ReadSMS(ctx, dataDir, databaseURL, from, to)
		if err := errors.Join(lerr, derr); err != nil {
			return nil, err
		}
		out := make([]report.SMSSend, 0, len(lists)+len(digests))
		for _, l := range lists {
			out = append(out, report.SMSSend{Purpose: report.PurposeVisits, County: l.County, Township: l.Township,
				At: l.At, Failed: l.Failed, Segments: l.Segments, Old: l.Unrecorded})
		}
		for _, d := range digests {
			out = append(out, report.SMSSend{Purpose: report.PurposeDigest, Home: d.Home, At: d.At, Failed: d.Failed,
				Segments: d.Segments, Old: d.Old})
		}
		return out, nil
	}
}
