package report

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/alerting/sqlite"
	"carebed/gateway/influxread"
	"carebed/gateway/inspect"
	"carebed/gateway/points"
	"carebed/gateway/registry"
	"carebed/internal/devsvc"
)

// The fixture month is November 2026 in Beijing time, reported on 4 December. Every
// figure the tests check is worked out by hand in the comments of fixture below.
var (
	beijing, _ = time.LoadLocation("Asia/Shanghai")
	reportNow  = time.Date(2026, 12, 4, 12, 0, 0, 0, beijing)
	townA      = "巴伦台镇"
	townB      = "乃门莫敦镇"
	county     = "和静县"
)

// nov is a time in November 2026, Beijing.
func nov(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, beijing)
}

func place(town, village, home string) alerting.Place {
	return alerting.Place{County: county, Township: town, Village: village, Home: home}
}

// fixtureHomes: H-1 (独居, visits every 7 days) and H-2 (失能: visits every 7, rounds
// every 30) in township A; H-3 (高龄: visits every 14) and H-4 (no care group, no
// schedule) in township B.
func fixtureHomes() []Home {
	return []Home{
		{Place: place(townA, "巴伦台村", "H-1"), Devices: []string{"d1"}, Groups: []policy.CareGroup{policy.GroupAlone}},
		{Place: place(townA, "古尔图村", "H-2"), Devices: []string{"d2"}, Groups: []policy.CareGroup{policy.GroupDisabled}},
		{Place: place(townB, "乃门村", "H-3"), Devices: []string{"d3"}, Groups: []policy.CareGroup{policy.GroupAged}},
		{Place: place(townB, "乃门村", "H-4"), Devices: []string{"d4"}},
	}
}

// page is one notification of a fixture alert.
type page struct {
	person, purpose, status string
}

// fixtureAlert is an alert of the fixture: raised at opened, paged, taken after
// take (0: never), then resolved with outcome at resolved (zero: still open).
type fixtureAlert struct {
	p        alerting.Place
	kind     alerting.Kind
	sev      alerting.Severity
	opened   time.Time
	hold     bool // held and cancelled by the device before anyone was paged
	pages    []page
	take     time.Duration
	outcome  alerting.Outcome
	resolved time.Time
}

// fixtureAlerts, by hand:
//
//	township A: sos taken in 3m (in time) and 8m (late, escalated to the clinic), fall
//	in 4m (in time), low battery changed after 2.5 days (never paged).
//	township B: sos cancelled in the hold-off; sos paged and never taken (open).
//	outside the month: one on 31 October 23:00 and one on 1 December 00:30.
func fixtureAlerts() []fixtureAlert {
	h1, h2, h3 := place(townA, "巴伦台村", "H-1"), place(townA, "古尔图村", "H-2"), place(townB, "乃门村", "H-3")
	doctor := page{"home/H-1/2", "page", "sent"}
	return []fixtureAlert{
		{p: h1, kind: alerting.KindSOS, sev: alerting.Critical, opened: nov(3, 10, 0), pages: []page{doctor},
			take: 3 * time.Minute, outcome: alerting.OutcomeHandledAtHome, resolved: nov(3, 10, 40)},
		{p: h1, kind: alerting.KindSOS, sev: alerting.Critical, opened: nov(10, 22, 0),
			pages: []page{doctor, {"clinic/和静县/巴伦台镇", "escalated", "sent"}},
			take:  8 * time.Minute, outcome: alerting.OutcomeReferred, resolved: nov(10, 23, 0)},
		{p: h2, kind: alerting.KindFall, sev: alerting.High, opened: nov(15, 8, 0),
			pages: []page{{"home/H-2/1", "page", "failed"}, {"home/H-2/2", "page", "sent"}},
			take:  4 * time.Minute, outcome: alerting.OutcomeHospital, resolved: nov(15, 9, 0)},
		{p: h2, kind: alerting.KindLowBattery, sev: alerting.Warning, opened: nov(5, 12, 0),
			outcome: alerting.OutcomeAutoResolved, resolved: nov(8, 0, 0)},
		{p: h3, kind: alerting.KindSOS, sev: alerting.Critical, opened: nov(20, 9, 0), hold: true},
		{p: h3, kind: alerting.KindSOS, sev: alerting.Critical, opened: nov(25, 9, 0), pages: []page{{"home/H-3/1", "page", "sent"}}},
		{p: h1, kind: alerting.KindFall, sev: alerting.High, opened: time.Date(2026, 10, 31, 23, 0, 0, 0, beijing),
			outcome: alerting.OutcomeFalseAlarm, resolved: nov(1, 1, 0)},
		{p: h3, kind: alerting.KindTamper, sev: alerting.High, opened: time.Date(2026, 12, 1, 0, 30, 0, 0, beijing)},
	}
}

// seedAlerts writes the fixture alerts into a real SQLite alert store.
func seedAlerts(t *testing.T) alerting.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, f := range fixtureAlerts() {
		r := alerting.Raise{Kind: f.kind, Sev: f.sev, Place: f.p, Device: "d", EventAt: f.opened, Now: f.opened}
		if f.hold {
			r.HoldUntil = f.opened.Add(time.Minute)
		}
		a, _, err := st.Raise(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if f.hold {
			if _, err := st.CancelPending(ctx, f.p.Home, f.kind, f.opened.Add(20*time.Second), "d", "cancel"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if len(f.pages) > 0 {
			seedPages(t, st, a.ID, f)
		}
		if f.take > 0 {
			if _, err := st.Ack(ctx, a.ID, f.pages[len(f.pages)-1].person, "sms", f.opened.Add(f.take)); err != nil {
				t.Fatal(err)
			}
		}
		if !f.resolved.IsZero() {
			if _, err := st.Resolve(ctx, a.ID, "duty-1", "console", f.outcome, "", f.resolved); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st
}

func seedPages(t *testing.T, st alerting.Store, id int64, f fixtureAlert) {
	t.Helper()
	ctx := context.Background()
	var atts []alerting.Attempt
	for _, p := range f.pages {
		atts = append(atts, alerting.Attempt{AlertID: id, PersonID: p.person, Channel: "sms", Purpose: p.purpose, Status: "queued"})
	}
	got, err := st.ClaimStep(ctx, id, 0, len(atts)-1, time.Time{}, f.opened.Add(5*time.Second), atts)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range got {
		a.Status = f.pages[i].status
		if _, err := st.FinishAttempt(ctx, a, f.opened.Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}

// line is one point of line protocol for the fixture's InfluxDB.
func line(measurement, town, village, home, extraTags, fields string, at time.Time) string {
	return fmt.Sprintf("%s,county=%s,home=%s,township=%s,village=%s%s %s %d\n",
		measurement, county, home, town, village, extraTags, fields, at.UnixNano())
}

// fixturePoints, by hand (November has 720 hours):
//
//	d1 (H-1): online since 20 October; offline (its Last Will) 5 Nov 00:00-06:00,
//	    silent (found by the gateway: presence) 12 Nov 00:00-12:00: online 702/720 h
//	    = 97.5 %, 2 episodes, 18 h, the longest 12 h.
//	d2 (H-2): first heard online 2 Nov 00:00 (29 days known: 696 h); offline from
//	    20 Nov to the end: 432 of 696 h online (62.07 %), 1 episode of 264 h (11
//	    days): silent over a week. Township A: 1134 of 1416 h online, 282 h offline.
//	d3 (H-3): nothing at all: 无数据.
//	d4 (H-4): online since 1 September, nothing since: online all 720 h. County:
//	    1854 of 2136 h online.
//	visits: H-1 on 3, 10, 17, 24 Nov (3 confirmed by sensors); H-2 visits on 1 and 8
//	    Nov (the 8th confirmed) and a round on 15 Nov (confirmed); H-3's last visit
//	    was 25 October.
func fixturePoints() string {
	st := func(m, town, village, home, dev string, online bool, at time.Time) string {
		if m == "presence" { // as the gateway writes it (gateway/presence)
			tags := points.Tags{County: county, Township: town, Village: village, Home: home, Device: dev, Kind: "bed_sensor"}
			return string(points.AppendPresence(nil, points.PresencePoint{Tags: tags, Online: online, Cause: "silent", At: at}))
		}
		return line(m, town, village, home, ",device="+dev, fmt.Sprintf("online=%t", online), at)
	}
	visit := func(m, town, village, home string, id int, confirmed bool, at time.Time) string {
		return line(m, town, village, home, ",source=sms", fmt.Sprintf("id=%di,confirmed=%t", id, confirmed), at)
	}
	var b strings.Builder
	for _, l := range []string{
		st("device_status", townA, "巴伦台村", "H-1", "d1", true, time.Date(2026, 10, 20, 8, 0, 0, 0, beijing)),
		st("device_status", townA, "巴伦台村", "H-1", "d1", false, nov(5, 0, 0)),
		st("device_status", townA, "巴伦台村", "H-1", "d1", true, nov(5, 6, 0)),
		st("device_status", townA, "巴伦台村", "H-1", "d1", true, nov(9, 6, 0)), // a repeat changes nothing
		st("presence", townA, "巴伦台村", "H-1", "d1", false, nov(12, 0, 0)),
		st("presence", townA, "巴伦台村", "H-1", "d1", true, nov(12, 12, 0)),
		st("device_status", townA, "古尔图村", "H-2", "d2", true, nov(2, 0, 0)),
		st("device_status", townB, "乃门村", "H-4", "d4", false, time.Date(2026, 8, 31, 8, 0, 0, 0, beijing)),
		st("presence", townB, "乃门村", "H-4", "d4", true, time.Date(2026, 9, 1, 8, 0, 0, 0, beijing)),
		st("presence", townA, "古尔图村", "H-2", "d2", false, nov(20, 0, 0)),
		st("device_status", townA, "古尔图村", "H-2", "d2", true, time.Date(2026, 12, 2, 0, 0, 0, 0, beijing)), // after the month
		visit("visit", townA, "巴伦台村", "H-1", 1, true, nov(3, 9, 0)),
		visit("visit", townA, "巴伦台村", "H-1", 2, false, nov(10, 9, 0)),
		visit("visit", townA, "巴伦台村", "H-1", 3, true, nov(17, 9, 0)),
		visit("visit", townA, "巴伦台村", "H-1", 4, true, nov(24, 9, 0)),
		visit("visit", townA, "古尔图村", "H-2", 5, false, nov(1, 9, 0)),
		visit("visit", townA, "古尔图村", "H-2", 6, true, nov(8, 9, 0)),
		visit("round", townA, "古尔图村", "H-2", 7, true, nov(15, 9, 0)),
		visit("visit", townB, "乃门村", "H-3", 8, true, time.Date(2026, 10, 25, 9, 0, 0, 0, beijing)),
	} {
		b.WriteString(l)
	}
	return b.String()
}

// fixturePolicy sets the targets the fixture is judged by (sos 5m, fall 5m) and the
// price of a segment.
func fixturePolicy(t *testing.T) policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte("report:\n  targets:\n    sos: 5m\n    fall: 5m\n  sms_segment_price: 0.05\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p.WithLocation(beijing)
}

// startFixtureInflux starts a real InfluxDB with the fixture's points.
func startFixtureInflux(t *testing.T) *influxread.Client {
	t.Helper()
	in := devsvc.StartInflux(t)
	in.Write(t, fixturePoints())
	return influxread.New(in.URL, in.Bucket, "")
}

// buildFixture builds November's report of the whole county from the fixture.
func buildFixture(t *testing.T, q Querier) Report {
	t.Helper()
	m, err := ParseMonth("2026-11", reportNow, beijing)
	if err != nil {
		t.Fatal(err)
	}
	src := Sources{Alerts: seedAlerts(t), Influx: q, Homes: fixtureHomes(), Policy: fixturePolicy(t),
		Inspection: seedInspection(t), OtherSMS: fixtureSMS}
	r, err := Build(context.Background(), src, m, Scope{County: county}, reportNow)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// seedInspection stores November's draw in a real inspect.db and returns the reader
// the command gives the report (inspect.ReadMonth with the data folder). By hand:
// seed 42 from 和静县, drawn 1 December 10:00; H-2 (A; 1 unconfirmed, 1 overdue:
// weight 6; 张三 of 民政局) 限期整改 entered 3 December 15:30; H-3 (B; 1 overdue,
// 1 slow: weight 7; 李四) not inspected yet; H-1 (A; weight 1; 王五 of 卫健委) 合格
// entered 2 December 09:00.
func seedInspection(t *testing.T) InspectionReader {
	t.Helper()
	dir := t.TempDir()
	st, err := inspect.Open(filepath.Join(dir, inspect.FileName), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	m := inspect.Month{Year: 2026, Month: time.November}
	entry := func(town, village, home string, unconfirmed, overdue, slow int, name, unit string) inspect.Entry {
		return inspect.Entry{Drawn: inspect.Drawn{Facts: inspect.Facts{
			Place:       registry.Place{County: county, Township: town, Village: village, Home: home},
			Unconfirmed: unconfirmed, Overdue: overdue, Slow: slow}, Inspector: inspect.Inspector{Name: name, Unit: unit}}}
	}
	rec := inspect.Record{Month: m, Seed: 42, Scope: county, DrawnAt: time.Date(2026, 12, 1, 10, 0, 0, 0, beijing),
		Entries: []inspect.Entry{entry(townA, "古尔图村", "H-2", 1, 1, 0, "张三", "民政局"),
			entry(townB, "乃门村", "H-3", 0, 1, 1, "李四", ""), entry(townA, "巴伦台村", "H-1", 0, 0, 0, "王五", "卫健委")}}
	if err := st.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	results := map[string]inspect.Result{
		"H-2": {Outcome: inspect.OutcomeFix, Note: "床边扶手松动，12月15日前修好", By: "county", At: time.Date(2026, 12, 3, 15, 30, 0, 0, beijing)},
		"H-1": {Outcome: inspect.OutcomePass, By: "county", At: time.Date(2026, 12, 2, 9, 0, 0, 0, beijing)},
	}
	for home, res := range results {
		if err := st.SetResult(ctx, m, home, res); err != nil {
			t.Fatal(err)
		}
	}
	return func(ctx context.Context, m inspect.Month) (inspect.Record, error) {
		return inspect.ReadMonth(ctx, dir, "", m)
	}
}

// fixtureSMSSends are the month's SMS of the visits' lists and the family digests,
// as gateway/visits and gateway/digest log them, by hand:
//
//	探访提醒  A: sent 3 lists of 1, 2 and 1 segments, 1 failed; B: 2 of 1 segment;
//	          one on 1 December (outside the month)
//	家属周报  H-1 (A): 1 of 2 segments; H-3 (B): 1 of 1 segment and 1 failed; H-9
//	          (no longer registered): not counted
//
// So A: 警报 4 sent 1 failed, 4 segments; 探访提醒 3, 1, 4; 家属周报 1, 0, 2: total 8
// sent, 2 failed, 10 segments, ¥0.50. B: 1/0/1, 2/0/2, 1/1/1: 4, 1, 4, ¥0.20.
// County: 12 sent, 3 failed, 14 segments, ¥0.70.
func fixtureSMSSends() []SMSSend {
	list := func(town string, day, segs int, failed bool) SMSSend {
		return SMSSend{Purpose: PurposeVisits, County: county, Township: town, At: nov(day, 8, 0), Failed: failed, Segments: segs}
	}
	digest := func(home string, day, segs int, failed bool) SMSSend {
		return SMSSend{Purpose: PurposeDigest, Home: home, At: nov(day, 19, 0), Failed: failed, Segments: segs}
	}
	return []SMSSend{
		list(townA, 2, 1, false), list(townA, 3, 2, false), list(townA, 4, 1, false), list(townA, 5, 1, true),
		list(townB, 2, 1, false), list(townB, 9, 1, false),
		{Purpose: PurposeVisits, County: county, Township: townA, At: time.Date(2026, 12, 1, 8, 0, 0, 0, beijing), Segments: 1},
		digest("H-1", 29, 2, false), digest("H-3", 29, 1, false), digest("H-3", 22, 1, true), digest("H-9", 29, 1, false),
	}
}

// fixtureSMS reads fixtureSMSSends of [from, to), as the data folder's reader does.
func fixtureSMS(_ context.Context, from, to time.Time) ([]SMSSend, error) {
	var out []SMSSend
	for _, s := range fixtureSMSSends() {
		if !s.At.Before(from) && s.At.Before(to) {
			out = append(out, s)
		}
	}
	return out, nil
}
