package visits

import (
	"context"
	"testing"
	"time"

	"carebed/alerting/policy"
)

// TestListSMSLogged: each morning list SMS is logged with the township of its homes
// (a doctor whose homes straddle two townships counts for the one with more, on a
// tie the first by name), sent or failed, and its segments; ReadSMS reads them from
// the data folder for the monthly report, and a list sent before the log was kept
// is Unrecorded. By hand, 1 December over monthLedger: visitors 0-4 and doctors
// 0-2 (doctor 2: 8 round homes in each township, so 和静镇) for 和静镇, visitors 5-9
// and doctors 3-4 for 巴润镇; visitor 7's number is refused.
func TestListSMSLogged(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, _ fixtureWithFn) { checkListSMSLogged(t, newFixture) })
}

// checkListSMSLogged is TestListSMSLogged on one backend: on PostgreSQL ReadSMS reads
// the database (database.url), not the data folder.
func checkListSMSLogged(t *testing.T, newFixture fixtureFn) {
	ctx := context.Background()
	f := newFixture(t, monthLedger(), nil)
	f.sms.refuse = "+8613800001007"
	morning := time.Date(2026, 12, 1, 8, 0, 0, 0, beijing)
	f.clock.Set(morning)
	if _, err := f.svc.Morning(ctx, morning); err != nil {
		t.Fatal(err)
	}
	segs := 0
	for _, m := range f.sms.take() {
		segs += policy.Segments(m.text)
	}
	old := time.Date(2026, 11, 30, 8, 0, 0, 0, beijing)
	if _, err := f.svc.st.claimList(ctx, day(old, beijing), purposeVisitDue, "+8613800001001", old); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSMS(ctx, f.dir, f.url, time.Date(2026, 11, 1, 0, 0, 0, 0, beijing), time.Date(2027, 1, 1, 0, 0, 0, 0, beijing))
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		town    string
		purpose string
		failed  bool
	}
	count := map[key]int{}
	gotSegs, unrecorded := 0, 0
	for _, l := range got {
		if l.Unrecorded {
			unrecorded++
			if l.Township != "" || l.Purpose != purposeVisitDue || !l.At.Equal(old) {
				t.Errorf("unrecorded list %+v", l)
			}
			continue
		}
		if l.County != "和静县" || !l.At.Equal(morning) {
			t.Errorf("list %+v", l)
		}
		count[key{l.Township, l.Purpose, l.Failed}]++
		if !l.Failed {
			gotSegs += l.Segments
		}
	}
	want := map[key]int{
		{"和静镇", purposeVisitDue, false}: 5, {"和静镇", purposeRoundDue, false}: 3,
		{"巴润镇", purposeVisitDue, false}: 4, {"巴润镇", purposeVisitDue, true}: 1, {"巴润镇", purposeRoundDue, false}: 2,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%+v: %d lists, want %d", k, count[k], n)
		}
	}
	if len(count) != len(want) || unrecorded != 1 {
		t.Errorf("lists %v, unrecorded %d; want %v and 1", count, unrecorded, want)
	}
	if gotSegs != segs || segs < 14 {
		t.Errorf("segments logged %d, sent %d (at least one per list)", gotSegs, segs)
	}
	none, err := ReadSMS(ctx, t.TempDir(), "", morning, morning.Add(time.Hour))
	if err != nil || len(none) != 0 {
		t.Errorf("no visits.db: %v, %v", none, err)
	}
}
