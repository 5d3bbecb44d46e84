package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"carebed/alerting/policy"
	asqlite "carebed/alerting/sqlite"
	"carebed/gateway/config"
	"carebed/gateway/inspect"
	"carebed/gateway/registry"
	"carebed/gateway/visits"
)

// inspectFlags are the flags of `gateway report inspect`.
type inspectFlags struct {
	month, inspectors, seed, county string
	homes                           int
	slow                            time.Duration
}

// reportInspect runs `gateway report inspect -month YYYY-MM -homes N -inspectors FILE
// [-seed S] [-county C] [-slow D]`: the month's random inspection draw, printed with
// every home's weight and stored in inspect.db (docs/inspection.md).
func reportInspect(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool), now time.Time) error {
	var f inspectFlags
	return withRegistry("report inspect", args, stderr, env, func(fs *flag.FlagSet) {
		fs.StringVar(&f.month, "month", "", "the `month` inspected, YYYY-MM (required)")
		fs.IntVar(&f.homes, "homes", 0, "how many homes to draw (required)")
		fs.StringVar(&f.inspectors, "inspectors", "", "`file` of inspectors, one a line: name[,unit] (required)")
		fs.StringVar(&f.seed, "seed", "", "the published seed, a whole number (a random one when empty)")
		fs.StringVar(&f.county, "county", "", "draw from this county's homes only")
		fs.DurationVar(&f.slow, "slow", 5*time.Minute, "an alert taken later than this counts as slow")
	}, func(cfg config.Config, _ *flag.FlagSet, reg *registry.Store) error {
		return drawInspections(ctx, cfg, reg, f, stdout, now)
	})
}

// checked are the flags read and checked, each error naming its flag.
type checked struct {
	month      inspect.Month
	seed       uint64
	inspectors []inspect.Inspector
}

func (f inspectFlags) check(now time.Time, loc *time.Location) (checked, error) {
	var c checked
	var err error
	if f.month == "" {
		return c, usageError{errors.New("-month: the month to draw for is required, e.g. -month 2026-11")}
	}
	if c.month, err = inspect.ParseMonth(f.month); err != nil {
		return c, usageError{fmt.Errorf("-month: %w", err)}
	}
	if from, _ := c.month.Bounds(loc); from.After(now) {
		return c, usageError{fmt.Errorf("-month: %s has not begun", c.month)}
	}
	if f.homes < 1 {
		return c, usageError{errors.New("-homes: how many homes to draw, at least 1, is required")}
	}
	if f.slow <= 0 {
		return c, usageError{errors.New("-slow: must be more than 0")}
	}
	if f.inspectors == "" {
		return c, usageError{errors.New("-inspectors: the file of inspectors is required")}
	}
	b, err := os.ReadFile(f.inspectors)
	if err != nil {
		return c, usageError{fmt.Errorf("-inspectors: %w", err)}
	}
	if c.inspectors, err = inspect.ParseInspectors(string(b)); err != nil {
		return c, usageError{fmt.Errorf("-inspectors %s: %w", f.inspectors, err)}
	}
	if f.seed == "" {
		var b [8]byte
		rand.Read(b[:])                              //nolint:errcheck // never fails (crypto/rand)
		c.seed = binary.BigEndian.Uint64(b[:]) >> 11 // a shorter number to publish
	} else if c.seed, err = inspect.ParseSeed(f.seed); err != nil {
		return c, usageError{fmt.Errorf("-seed: %w", err)}
	}
	return c, nil
}

// drawInspections gathers the month's facts, draws, prints and stores the draw.
func drawInspections(ctx context.Context, cfg config.Config, reg *registry.Store, f inspectFlags, w io.Writer, now time.Time) error {
	pol, err := loadPolicy(cfg)
	if err != nil {
		return err
	}
	loc := pol.Location()
	c, err := f.check(now, loc)
	if err != nil {
		return err
	}
	alerts, err := asqlite.Open(cfg.AlertsPath())
	if err != nil {
		return err
	}
	defer alerts.Close()
	vis, err := visits.New(visits.Options{Path: filepath.Join(cfg.DataDir, "visits.db"), Homes: reg,
		Schedule: pol.Visits(), Location: loc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer vis.Close()
	from, to := c.month.Bounds(loc)
	facts, err := inspect.Gather(ctx, inspect.Sources{Homes: reg, Visits: vis, Alerts: alerts, Slow: f.slow, County: f.county},
		from, to, now)
	if err != nil {
		return err
	}
	switch {
	case len(facts) == 0 && f.county != "":
		return usageError{fmt.Errorf("-county: no homes registered in %s", f.county)}
	case len(facts) == 0:
		return errors.New("no homes registered: import the ledger first")
	case f.homes > len(facts):
		return usageError{fmt.Errorf("-homes: %d asked for, but there are %d homes to draw from", f.homes, len(facts))}
	}
	drawn, err := inspect.Draw(c.month, c.seed, facts, c.inspectors, f.homes)
	if err != nil {
		return err
	}
	printDraw(w, c, f, facts, drawn, to.After(now))
	st, err := inspect.Open(filepath.Join(cfg.DataDir, inspect.FileName), cfg.Database.URL)
	if err != nil {
		return err
	}
	defer st.Close()
	rec := inspect.Record{Month: c.month, Seed: c.seed, Scope: f.county, DrawnAt: now}
	for _, d := range drawn {
		rec.Entries = append(rec.Entries, inspect.Entry{Drawn: d})
	}
	if err := st.Save(ctx, rec); err != nil {
		return err
	}
	fmt.Fprintf(w, "已保存到 %s；检查结果在值班台“抽查”页填写。\n", filepath.Join(cfg.DataDir, inspect.FileName))
	return nil
}

// printDraw writes the draw: how it was made, every home's weight, the homes drawn.
func printDraw(w io.Writer, c checked, f inspectFlags, facts []inspect.Facts, drawn []inspect.Drawn, partial bool) {
	scope := "全部"
	if f.county != "" {
		scope = f.county
	}
	fmt.Fprintf(w, "双随机抽查 %s：从%s %d 户中抽 %d 户，检查人 %d 名。种子 %d（请公开，可据此复核）。\n",
		c.month, scope, len(facts), len(drawn), len(c.inspectors), c.seed)
	if partial {
		fmt.Fprintln(w, "注意：本月尚未结束，权重按截至现在的数据。")
	}
	fmt.Fprintf(w, "方法：math/rand/v2 的 PCG(种子, %d)；各户按户编号排序，权重 = 1 + 2×未核实探访 + 3×逾期项 + 3×慢接警（超过 %s 或未接手）；"+
		"每次抽取 Uint64N(剩余权重和)，落在哪户抽哪户；最后 Perm(检查人数) 给第 k 户分配第 k 个检查人（轮流）。\n\n",
		c.month.Number(), minutes(f.slow))
	sorted := slices.Clone(facts)
	slices.SortFunc(sorted, func(a, b inspect.Facts) int {
		if d := int(b.Weight()) - int(a.Weight()); d != 0 {
			return d
		}
		return strings.Compare(a.Place.Home, b.Place.Home)
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "户编号\t乡镇\t村\t未核实探访\t逾期项\t慢接警\t权重")
	for _, x := range sorted {
		p := x.Place
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\n", p.Home, p.Township, p.Village, x.Unconfirmed, x.Overdue, x.Slow, x.Weight())
	}
	tw.Flush() //nolint:errcheck // the writer's errors show in the caller's output
	fmt.Fprintln(w, "\n抽中：")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "序号\t户编号\t乡镇\t村\t权重\t检查人")
	for i, d := range drawn {
		who := d.Inspector.Name
		if d.Inspector.Unit != "" {
			who += "（" + d.Inspector.Unit + "）"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", i+1, d.Place.Home, d.Place.Township, d.Place.Village, d.Weight(), who)
	}
	tw.Flush() //nolint:errcheck // as above
}

// minutes writes a duration as 5分钟, or as Go writes it when not whole minutes.
func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d分钟", d/time.Minute)
	}
	return d.String()
}

// loadPolicy parses the alerting section (for the visits schedule and the zone).
func loadPolicy(cfg config.Config) (policy.Policy, error) {
	pol := policy.Default()
	if cfg.Alerting.Kind != 0 {
		var err error
		if pol, err = policy.ParseNode(&cfg.Alerting); err != nil {
			return pol, fmt.Errorf("config: %w", err)
		}
	}
	loc, err := config.Location(cfg.TimeZone)
	if err != nil {
		return pol, fmt.Errorf("config: time_zone: %w", err)
	}
	return pol.WithLocation(loc), nil
}
