package visits

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// monthLedger is 200 homes in two townships (H-0000..H-0099 in 和静镇, the rest in
// 巴润镇, each with a clinic phone). Home i has visitor i/20 (10 visitors of 20 homes)
// and doctor i/40 (5 doctors of 40 homes), and by i%5 the care groups:
//
//	0 独居/留守         visit every 7 days
//	1 高龄              visit every 14 days
//	2 失能、高龄        visit every 7 days, round every 30
//	3 重残;特困/低保    visit every 30 days, round every 30
//	4 (none)            no schedule
func monthLedger() string {
	groups := []string{"独居/留守", "高龄", "失能、高龄", "重残;特困/低保", ""}
	var b strings.Builder
	b.WriteString("县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话,心跳间隔,照护类别\n")
	for i := range 200 {
		town, clinic := "和静镇", "13600000001"
		if i >= 100 {
			town, clinic = "巴润镇", "13600000002"
		}
		fmt.Fprintf(&b, "和静县,%s,村%d,H-%04d,,,,,hj-%04d-sos,紧急呼叫器,访员%d,138000010%02d,村医%d,139000020%02d,,%s,,%s\n",
			town, i/20, i, i, i/20, i/20, i/40, i/40, clinic, groups[i%5])
	}
	return b.String()
}

// TestMonthOfLists runs 30 mornings (1 to 30 December, 08:00 Beijing time) over the
// 200-home ledger. Visitors 0, 2, 4, 6 and 8 visit every home on their list at 10:00
// the day they get it (by SMS); visitors 1, 3, 5, 7, 9 never come; no doctor makes a
// round. Expected by hand, for day n = 0..29 (grace 2 days):
//
//	visits due:   80 homes of the lazy visitors every day, overdue from day 3;
//	              of the diligent visitors' 80: 20 (group 0) + 20 (group 2) when n%7 == 0,
//	              20 (group 1) when n%14 == 0, 20 (group 3) on day 0; never overdue
//	rounds due:   the 80 homes of groups 2 and 3 every day, overdue from day 3
//	due SMS:      5 lazy visitors daily, 5 diligent visitors on days 0,7,14,21,28,
//	              5 doctors daily: 150 + 25 + 150 = 325
//	overdue SMS:  both townships from day 3: 27 × 2 = 54
//	check-ins:    20×5 (group 0) + 20×3 (group 1) + 20×5 (group 2) + 20×1 (group 3) = 280
func TestMonthOfLists(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		ctx := context.Background()
		f := newFixture(t, monthLedger(), nil)
		diligent := func(phone string) bool {
			var v int
			fmt.Sscanf(phone, "+86138000010%02d", &v)
			return strings.HasPrefix(phone, "+86138") && v%2 == 0
		}
		var dueSMS, overdueSMS, checkins int
		for n := range 30 {
			morning := time.Date(2026, 12, 1+n, 8, 0, 0, 0, beijing)
			f.clock.Set(morning)
			rep, err := f.svc.Morning(ctx, morning)
			if err != nil {
				t.Fatal(err)
			}
			wantVisits := 80
			if n%7 == 0 {
				wantVisits += 40
			}
			if n%14 == 0 {
				wantVisits += 20
			}
			if n == 0 {
				wantVisits += 20
			}
			wantOverdue := 0
			if n >= 3 {
				wantOverdue = 160
			}
			if rep.Due != wantVisits+80 || rep.Overdue != wantOverdue {
				t.Errorf("day %d: due %d, overdue %d; want %d, %d", n, rep.Due, rep.Overdue, wantVisits+80, wantOverdue)
			}
			msgs := f.sms.take()
			f.clock.Set(morning.Add(2 * time.Hour))
			for _, m := range msgs {
				if units(m.text) > MaxListUnits {
					t.Errorf("day %d: list to %s is %d units: %q", n, m.purpose, units(m.text), m.text)
				}
				switch m.purpose {
				case purposeOverdue:
					overdueSMS++
				case purposeVisitDue:
					dueSMS++
					if diligent(m.to) {
						checkins += f.visitAll(t, m)
					}
				default:
					dueSMS++
				}
			}
			if again, err := f.svc.Morning(ctx, morning.Add(time.Minute)); err != nil || again.DueSMS+again.OverdueSMS != 0 {
				t.Errorf("day %d: a second run sent again: %+v, %v", n, again, err)
			}
		}
		if dueSMS != 325 || overdueSMS != 54 || checkins != 280 {
			t.Errorf("due SMS %d, overdue SMS %d, check-ins %d; want 325, 54, 280", dueSMS, overdueSMS, checkins)
		}
		if n := f.count(t); n != 280 {
			t.Errorf("%d visits recorded, want 280", n)
		}
	})
}

// visitAll checks in, by SMS, every home a due list names (it must list them all).
func (f *fixture) visitAll(t *testing.T, m sent) int {
	t.Helper()
	_, list, ok := strings.Cut(m.text, "户：")
	if !ok || strings.Contains(m.text, "等") {
		t.Fatalf("list %q is not complete", m.text)
	}
	list, _, _ = strings.Cut(list, "。")
	n := 0
	for _, h := range strings.Split(list, "、") {
		reply, _, err := f.svc.HandleSMS(context.Background(), m.to, "到 "+strings.TrimPrefix(h, "*")+" 好")
		if err != nil || !strings.HasPrefix(reply, "已登记") {
			t.Fatalf("check-in of %s: %q, %v", h, reply, err)
		}
		n++
	}
	return n
}

// TestListOrderAndLength: homes with a recent alert come first, marked *, then the
// most days late; a long list is cut to two segments with 等N户.
func TestListOrderAndLength(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		ctx := context.Background()
		f := newFixture(t, monthLedger(), alertHomes{"H-0038": true})
		day0 := time.Date(2026, 12, 1, 8, 0, 0, 0, beijing)
		if _, err := f.svc.Morning(ctx, day0); err != nil {
			t.Fatal(err)
		}
		f.sms.take()
		f.clock.Set(day0.Add(24*time.Hour + 2*time.Hour))
		if _, _, err := f.svc.HandleSMS(ctx, "+8613800001001", "到 H-0020"); err != nil {
			t.Fatal(err)
		}
		day9 := day0.AddDate(0, 0, 9)
		if _, err := f.svc.Morning(ctx, day9); err != nil {
			t.Fatal(err)
		}
		var visitor1, doctor0, clinic string
		for _, m := range f.sms.take() {
			switch m.to {
			case "+8613800001001":
				visitor1 = m.text
			case "+8613900002000":
				doctor0 = m.text
			case "+8613600000001":
				clinic = m.text
			}
		}
		// Visitor 1 has H-0020..H-0039 (16 scheduled): H-0038 alerted; H-0020 visited on
		// day 1 (due day 8, 1 day late) comes last. Homes are named by their numbers.
		want := "【巴州家庭养老床位】探访提醒：今天请探访16户：*38、21、22、23、25、26、27、28、30、31、32、33、35、36、37、20" +
			"（*近日报过警，请先去）。到户后回复：到 编号 好/一般/差"
		if visitor1 != want {
			t.Errorf("visitor 1's list:\n got %q\nwant %q", visitor1, want)
		}
		if doctor0 != "【巴州家庭养老床位】巡诊提醒：今天请巡诊16户：*38、2、3、7、8、12、13、17、18、22、23、27、28、32、33、37"+
			"（*近日报过警，请先去）。巡诊后回复：巡诊 编号 血压 血糖 心率" {
			t.Errorf("doctor 0's list: %q", doctor0)
		}
		// 和静镇: 80 homes to visit, none visited but H-0020 (1 day late, within the
		// grace): 79 overdue; 40 rounds, none made.
		if !strings.HasPrefix(clinic, "【巴州家庭养老床位】和静镇逾期：79户未按期探访，40户未按期巡诊：*H-0038、*H-0038巡诊、H-0000、") ||
			!strings.Contains(clinic, "等119户。详见控制台探访页") || units(clinic) > MaxListUnits {
			t.Errorf("clinic's list (%d units): %q", units(clinic), clinic)
		}
	})
}

// TestMorningWritesVillageCounts: each morning's lists also write, per village and
// kind, the homes on a schedule and those due and overdue (measurement visits_due,
// the duty board's panel); they add up to the morning's report.
func TestMorningWritesVillageCounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		ctx := context.Background()
		f := newFixture(t, monthLedger(), nil)
		for _, d := range []int{1, 5} { // the first morning, and one with homes overdue
			morning := time.Date(2026, 12, d, 8, 0, 0, 0, beijing)
			f.clock.Set(morning)
			before := len(f.spool.all())
			rep, err := f.svc.Morning(ctx, morning)
			if err != nil {
				t.Fatal(err)
			}
			sums := map[string]int{}
			villages := map[string]bool{}
			for _, rec := range f.spool.all()[before:] {
				i := strings.Index(rec, "visits_due,")
				if i < 0 {
					continue
				}
				line := rec[i:]
				villages[between(line, "village=", " ")+"/"+between(line, "kind=", ",")] = true
				for _, field := range []string{"homes", "due", "overdue"} {
					n, err := strconv.Atoi(between(line, " "+field+"=", "i"))
					if err != nil {
						n, err = strconv.Atoi(between(line, ","+field+"=", "i"))
					}
					if err != nil {
						t.Fatalf("%s in %q: %v", field, line, err)
					}
					sums[field] += n
				}
			}
			if sums["due"] != rep.Due || sums["overdue"] != rep.Overdue || sums["homes"] < rep.Due || len(villages) == 0 {
				t.Errorf("day %d: villages' counts %v over %d series; want due %d and overdue %d as reported",
					d, sums, len(villages), rep.Due, rep.Overdue)
			}
			if d == 5 && rep.Overdue == 0 {
				t.Errorf("day %d: no home overdue; the check needs some", d)
			}
		}
	})
}

// between returns what follows start in s up to the next end.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
