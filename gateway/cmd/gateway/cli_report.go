package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"carebed/alerting/policy"
	"carebed/alerting/sqlite"
	"carebed/gateway/config"
	"carebed/gateway/influxread"
	"carebed/gateway/registry"
	"carebed/gateway/report"
	"carebed/gateway/service"
)

// reportFlags are the flags of `gateway report monthly`.
type reportFlags struct {
	month, county, township, out string
	pdf                          bool
}

// reportCmd runs `gateway report monthly -month 2026-11 [-county C] [-township T]
// -out DIR`: the monthly supervision report as HTML, PDF and xlsx (docs/report.md).
func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool), now time.Time) error {
	var f reportFlags
	cfg, fs, err := loadConfig("report monthly", args, stderr, env, func(fs *flag.FlagSet) {
		fs.StringVar(&f.month, "month", "", "the `month` to report, e.g. 2026-11 (required)")
		fs.StringVar(&f.county, "county", "", "the county (default: the only one registered)")
		fs.StringVar(&f.township, "township", "", "only this township")
		fs.StringVar(&f.out, "out", "", "the `folder` to write the files into (required)")
		fs.BoolVar(&f.pdf, "pdf", true, "print the PDF with headless Chromium (CAREBED_CHROMIUM, or chromium on the PATH)")
	})
	if err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usageError{fmt.Errorf("report monthly takes no arguments, got %q", fs.Args())}
	case f.month == "":
		return usageError{errors.New("-month: required, e.g. -month 2026-11")}
	case f.out == "":
		return usageError{errors.New("-out: required: the folder to write the report into")}
	}
	files, err := monthlyReport(ctx, cfg, f, env, now)
	if errors.Is(err, report.ErrFlag) {
		return usageError{err}
	}
	for _, fl := range files {
		fmt.Fprintln(stdout, fl.Name)
		for _, path := range []string{fl.HTML, fl.PDF, fl.XLSX} {
			if path != "" {
				fmt.Fprintln(stdout, "  "+path)
			}
		}
	}
	return err
}

func monthlyReport(ctx context.Context, cfg config.Config, f reportFlags, env func(string) (string, bool), now time.Time) ([]report.Files, error) {
	pol, err := reportPolicy(cfg)
	if err != nil {
		return nil, err
	}
	m, err := report.ParseMonth(f.month, now, pol.Location())
	if err != nil {
		return nil, err
	}
	reg, err := registry.Open(cfg.Registry.Path)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	homes, err := report.HomesFrom(ctx, reg)
	if err != nil {
		return nil, err
	}
	scope, err := report.CheckScope(report.Scope{County: f.county, Township: f.township}, homes)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.AlertsPath()); err != nil {
		return nil, fmt.Errorf("alert store: %w", err)
	}
	st, err := sqlite.Open(cfg.AlertsPath())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	src := report.Sources{Alerts: st, Homes: homes, Policy: pol,
		Inspection: service.ReportInspection(cfg.DataDir, cfg.Database.URL), OtherSMS: service.ReportSMS(cfg.DataDir, cfg.Database.URL)}
	if cfg.Influx.URL != "" {
		src.Influx = influxread.New(cfg.Influx.URL, cfg.Influx.Bucket, cfg.Influx.Token)
	}
	r, err := report.Build(ctx, src, m, scope, now)
	if err != nil {
		return nil, err
	}
	var pr *report.Printer
	if f.pdf {
		chromium, _ := env("CAREBED_CHROMIUM")
		bin, err := report.FindChromium(chromium)
		if err != nil {
			return nil, fmt.Errorf("-pdf: %w (or -pdf=false)", err)
		}
		if pr, err = report.NewPrinter(ctx, bin); err != nil {
			return nil, err
		}
		defer pr.Close()
	}
	return report.WriteAll(ctx, r, f.out, pr)
}

// reportPolicy is the configuration's alerting policy in its time zone.
func reportPolicy(cfg config.Config) (policy.Policy, error) {
	pol, err := policy.ParseNode(&cfg.Alerting)
	if err != nil {
		return pol, fmt.Errorf("config: %w", err)
	}
	loc, err := config.Location(cfg.TimeZone)
	if err != nil {
		return pol, fmt.Errorf("config: time_zone: %w", err)
	}
	return pol.WithLocation(loc), nil
}
