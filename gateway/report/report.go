// Package report builds the monthly supervision report (服务监管月报) of a county's
// home care beds: for each township and the county, how alerts were answered, how
// the devices kept working, whether visits and rounds happened and what the SMS
// cost. It reads the alert store (through alerting's words) and InfluxDB, and writes
// an HTML page in Chinese, the same page printed to an A4 PDF by headless Chromium,
// and an .xlsx workbook with one sheet per section (docs/report.md).
package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/influxread"
)

// Home is a registered home as the report needs it: its place, its devices, its
// elder's care groups and the ledger's own visit and round intervals.
type Home struct {
	Place   alerting.Place
	Devices []string
	Groups  []policy.CareGroup
	Own     policy.Intervals
}

// AlertReader is the part of the alert store a report reads; alerting.Store is one.
type AlertReader interface {
	OpenedBetween(ctx context.Context, f alerting.Filter, from, to time.Time) ([]alerting.Alert, error)
	Audit(ctx context.Context, alertID int64) ([]alerting.AuditRow, error)
	Attempts(ctx context.Context, alertID int64) ([]alerting.Attempt, error)
}

// Querier runs InfluxQL; *influxread.Client is one.
type Querier interface {
	Series(ctx context.Context, q string) ([]influxread.Series, error)
}

// Sources are what a report is built from.
type Sources struct {
	Alerts AlertReader
	// Influx is nil when InfluxDB is not configured: its figures say so.
	Influx Querier
	Homes  []Home
	Policy policy.Policy
	// Inspection reads the month's random inspection draw and its results; nil when
	// draws are not kept (the section says 本月未抽查).
	Inspection InspectionReader
	// OtherSMS reads the SMS of the visits' morning lists and the family digests;
	// nil: their figures are 无数据.
	OtherSMS SMSReader
}

// Report is one month's report of a county or a township.
type Report struct {
	Month Month
	Scope Scope
	// Made is when the report was built.
	Made time.Time
	// Parts are the townships, in name order, then (for a whole county) the
	// county's summary, whose Township is "".
	Parts []Part
	// InfluxError is why the InfluxDB figures are missing, "" when they are not.
	InfluxError string
}

// Part is the report of one township or of the whole county (Township "").
type Part struct {
	County, Township string
	Homes, Devices   int
	Alerts           AlertFigures
	Devs             DeviceFigures
	Visits           VisitFigures
	SMS              SMSFigures
	Inspect          InspectFigures
	Daily            []Day
	// loc is the report's time zone, for the times the tables write.
	loc *time.Location
}

// Name is the part's title: the township, or the county with 汇总.
func (p Part) Name() string {
	if p.Township == "" {
		return p.County + "（全县汇总）"
	}
	return p.Township
}

// Build reads the month's data of the scope and computes the report.
func Build(ctx context.Context, src Sources, m Month, s Scope, now time.Time) (Report, error) {
	r := Report{Month: m, Scope: s, Made: now}
	alerts, err := src.Alerts.OpenedBetween(ctx, alerting.Filter{County: s.County, Township: s.Township}, m.Start, m.Until)
	if err != nil {
		return r, fmt.Errorf("report: alerts: %w", err)
	}
	details, err := readDetails(ctx, src.Alerts, alerts)
	if err != nil {
		return r, err
	}
	infl := readInflux(ctx, src.Influx, m, s)
	if infl.err != nil {
		r.InfluxError = infl.err.Error()
	}
	rec, drawn, err := readInspection(ctx, src.Inspection, m)
	if err != nil {
		return r, err
	}
	other, err := readOtherSMS(ctx, src.OtherSMS, m)
	if err != nil {
		return r, err
	}
	byID := map[string]Home{}
	for _, h := range src.Homes {
		byID[h.Place.Home] = h
	}
	homes := homesIn(src.Homes, s)
	towns := townships(homes)
	if s.Township == "" {
		towns = append(towns, "")
	}
	for _, town := range towns {
		p := buildPart(src.Policy, m, s.County, town, homes, details, infl)
		p.SMS = smsFigures(partDetails(details, town), other, byID, s.County, town, src.Policy.Report().SMSSegmentPrice)
		p.Inspect = inspectFigures(rec, drawn, s.County, town)
		r.Parts = append(r.Parts, p)
	}
	return r, nil
}

// detail is an alert with its attempts (for escalations and SMS) and audit trail.
type detail struct {
	alerting.Alert
	attempts []alerting.Attempt
	audit    []alerting.AuditRow
}

func readDetails(ctx context.Context, st AlertReader, as []alerting.Alert) ([]detail, error) {
	out := make([]detail, len(as))
	for i, a := range as {
		out[i].Alert = a
		var err error
		if out[i].attempts, err = st.Attempts(ctx, a.ID); err != nil {
			return nil, fmt.Errorf("report: attempts of alert %d: %w", a.ID, err)
		}
		if out[i].audit, err = st.Audit(ctx, a.ID); err != nil {
			return nil, fmt.Errorf("report: audit of alert %d: %w", a.ID, err)
		}
	}
	return out, nil
}

func homesIn(hs []Home, s Scope) []Home {
	var out []Home
	for _, h := range hs {
		if h.Place.County == s.County && (s.Township == "" || h.Place.Township == s.Township) {
			out = append(out, h)
		}
	}
	return out
}

func townships(hs []Home) []string {
	var out []string
	for _, h := range hs {
		if !slices.Contains(out, h.Place.Township) {
			out = append(out, h.Place.Township)
		}
	}
	slices.Sort(out)
	return out
}

// partDetails are the alerts of township town ("": all).
func partDetails(ds []detail, town string) []detail {
	var in []detail
	for _, d := range ds {
		if town == "" || d.Place.Township == town {
			in = append(in, d)
		}
	}
	return in
}

// buildPart computes one township's part (town "" for the whole county).
func buildPart(pol policy.Policy, m Month, county, town string, homes []Home, ds []detail, infl influxData) Part {
	p := Part{County: county, Township: town, loc: pol.Location()}
	var hs []Home
	for _, h := range homes {
		if town == "" || h.Place.Township == town {
			hs = append(hs, h)
			p.Devices += len(h.Devices)
		}
	}
	p.Homes = len(hs)
	in := partDetails(ds, town)
	p.Alerts = alertFigures(in, pol.Report().Targets)
	p.Devs = deviceFigures(hs, in, infl, m, pol.Location())
	p.Visits = visitFigures(hs, infl, pol.Visits(), m)
	p.Daily = daily(m, in, p.Devs, p.Visits, pol.Location())
	return p
}
