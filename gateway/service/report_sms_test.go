package service

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"carebed/alerting/policy"
	"carebed/alerting/sqlite"
	"carebed/gateway/digest"
	"carebed/gateway/registry"
	"carebed/gateway/report"
	"carebed/gateway/visits"
)

// smsSink takes SMS; the phone refuse fails for good.
type smsSink struct {
	mu     sync.Mutex
	texts  []string
	refuse string
}

func (s *smsSink) Send(_ context.Context, _, to, text string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if to == s.refuse {
		return false, errRefused
	}
	s.texts = append(s.texts, text)
	return false, nil
}

var errRefused = errors.New("number refused")

// TestReportSMSFromDataFolder: the visits' morning lists and a family digest, sent
// by the real services into the data folder's visits.db and digest.db, are counted
// by the monthly report (ReportSMS, as the console and the command give it) in the
// township of their homes, with the segments logged when they were sent. By hand:
// on 2 November three homes are due a visit: H-1 and H-2 (巴伦台镇, visitor A), H-3
// (乃门莫敦镇, visitor B, whose number is refused); H-1's family subscribed on 20
// November and gets the digest on Sunday 29 November at 19:00.
func TestReportSMSFromDataFolder(t *testing.T) {
	ctx := context.Background()
	bj, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	reg, err := registry.Open(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ledger := "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话,心跳间隔,照护类别\n" +
		"和静县,巴伦台镇,巴伦台村,H-1,王秀英,,,,s-1,紧急呼叫器,访员甲,13800000001,,,13900000001,,,独居/留守\n" +
		"和静县,巴伦台镇,巴伦台村,H-2,,,,,s-2,紧急呼叫器,访员甲,13800000001,,,,,,独居/留守\n" +
		"和静县,乃门莫敦镇,乃门村,H-3,,,,,s-3,紧急呼叫器,访员乙,13800000002,,,,,,独居/留守\n"
	if rep, err := reg.Import(ctx, strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatalf("import: %v %+v", err, rep)
	}
	sink := &smsSink{refuse: "+8613800000002"}
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, bj)
	clock := func() time.Time { return now }
	pol := policy.Default().WithLocation(bj)
	vis, err := visits.New(visits.Options{Path: filepath.Join(dir, visits.FileName), Homes: reg, Schedule: pol.Visits(),
		Location: bj, SMS: sink, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer vis.Close()
	if _, err := vis.Morning(ctx, now); err != nil {
		t.Fatal(err)
	}
	dig, err := digest.New(digest.Options{Path: filepath.Join(dir, digest.FileName), Homes: reg, Policy: pol, SMS: sink,
		Schedule: digest.Schedule{Weekday: time.Sunday, At: 19 * time.Hour}, Location: bj, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer dig.Close()
	now = time.Date(2026, 11, 20, 12, 0, 0, 0, bj)
	if _, _, err := dig.HandleSMS(ctx, "+8613900000001", "订阅"); err != nil {
		t.Fatal(err)
	}
	now = time.Date(2026, 11, 29, 19, 0, 0, 0, bj)
	if rep, err := dig.Send(ctx, now); err != nil || rep.Sent != 1 {
		t.Fatalf("digest: %+v %v", rep, err)
	}
	segs := 0
	for _, text := range sink.texts {
		segs += policy.Segments(text)
	}
	if len(sink.texts) != 2 || segs < 2 {
		t.Fatalf("sent %q", sink.texts)
	}

	alerts, err := sqlite.Open(filepath.Join(dir, "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer alerts.Close()
	homes, err := report.HomesFrom(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	reportNow := time.Date(2026, 12, 4, 12, 0, 0, 0, bj)
	m, err := report.ParseMonth("2026-11", reportNow, bj)
	if err != nil {
		t.Fatal(err)
	}
	src := report.Sources{Alerts: alerts, Homes: homes, Policy: pol, OtherSMS: ReportSMS(dir, ""), Inspection: ReportInspection(dir, "")}
	r, err := report.Build(ctx, src, m, report.Scope{County: "和静县"}, reportNow)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]map[string]string{} // township -> purpose -> 已发/失败/段数
	for _, p := range r.Parts {
		rows[p.Township] = map[string]string{}
		for _, s := range p.SMS.Rows {
			rows[p.Township][s.Purpose] = strings.Join([]string{s.Sent.String(), s.Failed.String(), s.Segments.String()}, "/")
		}
	}
	listSegs := policy.Segments(sink.texts[0])
	want := map[string]map[string]string{
		"巴伦台镇":  {"探访提醒": "1/0/" + strconv.Itoa(listSegs), "家属周报": "1/0/" + strconv.Itoa(segs-listSegs)},
		"乃门莫敦镇": {"探访提醒": "0/1/0", "家属周报": "0/0/0"},
		"":      {"探访提醒": "1/1/" + strconv.Itoa(listSegs), "家属周报": "1/0/" + strconv.Itoa(segs-listSegs)},
	}
	for town, purposes := range want {
		for purpose, w := range purposes {
			if got := rows[town][purpose]; got != w {
				t.Errorf("%q %s: %s, want %s (sent/failed/segments)", town, purpose, got, w)
			}
		}
	}
	for _, p := range r.Parts {
		if p.Inspect.Drawn {
			t.Errorf("%s: a draw, but the data folder has no inspect.db", p.Name())
		}
	}
}
