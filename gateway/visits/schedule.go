package visits

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"carebed/alerting/policy"
	"carebed/gateway/registry"
)

// Due is a home that is due for a visit or a round on a day.
type Due struct {
	Care     registry.Care
	Kind     Kind
	Interval int       // days
	Last     time.Time // the latest visit or round; zero when there has been none
	// DaysLate is how many days past its due day the home is (0: due today).
	DaysLate int
	// Overdue: past the interval plus the grace.
	Overdue bool
	// RecentAlert: the elder raised an alert in the policy's alert_days; the home is
	// put first.
	RecentAlert bool
}

// day is a calendar day in the schedule's zone, counted from 1970-01-01.
func day(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// dueList computes the homes due on day today. A home visited on day L with an
// interval of N days is due from day L+N and overdue after day L+N+grace; a home
// never visited is due from the day its schedule began and overdue after that day
// plus the grace. The list is ordered: recent alerts first, then the most days late,
// then by home id.
func dueList(homes []registry.Care, sch policy.Visits, last map[key]time.Time, start map[key]int,
	alerts map[string]bool, today int, loc *time.Location) []Due {
	var out []Due
	for _, h := range homes {
		iv := intervals(sch, h)
		for _, k := range []struct {
			kind Kind
			n    int
		}{{KindVisit, iv.VisitDays}, {KindRound, iv.RoundDays}} {
			if k.n == 0 {
				continue
			}
			kk := key{h.Place.Home, k.kind}
			d := Due{Care: h, Kind: k.kind, Interval: k.n, RecentAlert: alerts[h.Place.Home]}
			dueDay, ok := start[kk]
			if l, seen := last[kk]; seen {
				d.Last, dueDay, ok = l, day(l, loc)+k.n, true
			}
			if !ok || today < dueDay {
				continue
			}
			d.DaysLate = today - dueDay
			d.Overdue = d.DaysLate > sch.GraceDays
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Due) int {
		if a.RecentAlert != b.RecentAlert {
			if a.RecentAlert {
				return -1
			}
			return 1
		}
		return cmp.Or(b.DaysLate-a.DaysLate, strings.Compare(a.Care.Place.Home, b.Care.Place.Home))
	})
	return out
}

// intervals are a home's intervals: its own, or its care groups'.
func intervals(sch policy.Visits, h registry.Care) policy.Intervals {
	groups := make([]policy.CareGroup, len(h.Groups))
	for i, g := range h.Groups {
		groups[i] = policy.CareGroup(g)
	}
	return sch.IntervalsFor(groups, policy.Intervals{VisitDays: h.VisitDays, RoundDays: h.RoundDays})
}

// Due returns the homes due at now (overdue ones included), ordered as the lists are.
func (s *Service) Due(ctx context.Context, now time.Time) ([]Due, error) {
	loc := s.o.Location
	today := day(now, loc)
	homes, err := s.o.Homes.CareAll(ctx)
	if err != nil {
		return nil, err
	}
	var keys []key
	for _, h := range homes {
		iv := intervals(s.o.Schedule, h)
		if iv.VisitDays > 0 {
			keys = append(keys, key{h.Place.Home, KindVisit})
		}
		if iv.RoundDays > 0 {
			keys = append(keys, key{h.Place.Home, KindRound})
		}
	}
	start, err := s.st.startDays(ctx, keys, today)
	if err != nil {
		return nil, err
	}
	last, err := s.st.lastVisits(ctx)
	if err != nil {
		return nil, err
	}
	alerts := map[string]bool{}
	if s.o.Alerts != nil && s.o.Schedule.AlertDays > 0 {
		since := now.AddDate(0, 0, -s.o.Schedule.AlertDays)
		if alerts, err = s.o.Alerts.AlertHomes(ctx, since); err != nil {
			return nil, err
		}
	}
	return dueList(homes, s.o.Schedule, last, start, alerts, today, loc), nil
}

// Report is what a morning run sent.
type Report struct {
	Due, Overdue       int // homes × kinds
	DueSMS, OverdueSMS int
	Failed             int // SMS that could not be sent (tried again at the next run)
}

// List purposes, also the metric's purpose label.
const (
	purposeVisitDue = "visit_due"
	purposeRoundDue = "round_due"
	purposeOverdue  = "overdue"
)

// Morning sends the day's lists once per phone: to each visitor the homes due for a
// visit, to each doctor the homes due for a round, to each township clinic the homes
// overdue. A list already sent that day (a second run, a restart) is not sent again.
func (s *Service) Morning(ctx context.Context, now time.Time) (Report, error) {
	dues, err := s.Due(ctx, now)
	if err != nil {
		return Report{}, err
	}
	s.gauges(dues)
	if err := s.writeVillages(ctx, dues, now); err != nil {
		s.log.Warn("the villages' visit counts not written to the spool", "err", err)
	}
	var rep Report
	today := day(now, s.o.Location)
	byPhone := map[[2]string][]Due{}
	byTownship := map[[2]string][]Due{}
	for _, d := range dues {
		rep.Due++
		phone, purpose := d.Care.VisitorPhone, purposeVisitDue
		if d.Kind == KindRound {
			phone, purpose = d.Care.DoctorPhone, purposeRoundDue
		}
		if phone != "" {
			byPhone[[2]string{purpose, phone}] = append(byPhone[[2]string{purpose, phone}], d)
		}
		if d.Overdue {
			rep.Overdue++
			t := [2]string{d.Care.Place.County, d.Care.Place.Township}
			byTownship[t] = append(byTownship[t], d)
		}
	}
	for _, k := range slices.SortedFunc(mapKeys(byPhone), cmpKey) {
		kind, ds, phone := Kind(strings.TrimSuffix(k[0], "_due")), byPhone[k], k[1]
		county, town := mainTownship(ds)
		res, err := s.sendList(ctx, today, k[0], phone, county, town, now, func() (string, error) {
			link := ""
			if s.o.LinkBase != "" {
				var err error
				if link, err = s.newLink(ctx, phone, kind, now); err != nil {
					return "", err
				}
			}
			return dueText(kind, ds, link), nil
		})
		if err != nil {
			return rep, err
		}
		rep.count(res, &rep.DueSMS)
	}
	clinics, err := s.o.Homes.ClinicTownships(ctx)
	if err != nil {
		return rep, err
	}
	for _, t := range clinics {
		ds := byTownship[[2]string{t.County, t.Name}]
		if len(ds) == 0 {
			continue
		}
		res, err := s.sendList(ctx, today, purposeOverdue, t.ClinicPhone, t.County, t.Name, now,
			func() (string, error) { return overdueText(t.Name, ds), nil })
		if err != nil {
			return rep, err
		}
		rep.count(res, &rep.OverdueSMS)
	}
	return rep, nil
}

func mapKeys[V any](m map[[2]string]V) func(func([2]string) bool) {
	return func(yield func([2]string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func cmpKey(a, b [2]string) int {
	return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
}

// sendResult is what became of one list.
type sendResult int

const (
	listSent    sendResult = iota // sent now
	listSkipped                   // sent before today, or no SMS channel
	listFailed                    // not sent; tried again at the next run when retry may work
)

// count adds a list's result to the report.
func (r *Report) count(res sendResult, sent *int) {
	switch res {
	case listSent:
		*sent++
	case listFailed:
		r.Failed++
	}
}

// mainTownship is the township most of a list's homes are in (the first by name on
// a tie): the township whose report counts the list's SMS.
func mainTownship(ds []Due) (county, township string) {
	n := map[[2]string]int{}
	for _, d := range ds {
		n[[2]string{d.Care.Place.County, d.Care.Place.Township}]++
	}
	var best [2]string
	for _, k := range slices.SortedFunc(mapKeys(n), cmpKey) {
		if n[k] > n[best] {
			best = k
		}
	}
	return best[0], best[1]
}

// sendList sends one list unless it went out today, and logs it (sent or failed)
// for the township's monthly report with its segments.
func (s *Service) sendList(ctx context.Context, today int, purpose, phone, county, township string, now time.Time,
	textOf func() (string, error)) (sendResult, error) {
	if s.o.SMS == nil {
		return listSkipped, nil
	}
	first, err := s.st.claimList(ctx, today, purpose, phone, now)
	if err != nil || !first {
		return listSkipped, err
	}
	text, err := textOf()
	if err != nil {
		return listFailed, errors.Join(err, s.st.unclaimList(ctx, today, purpose, phone))
	}
	retry, err := s.o.SMS.Send(ctx, purpose, phone, text)
	if lerr := s.st.logListSMS(ctx, today, purpose, phone, county, township, err != nil, policy.Segments(text), now); lerr != nil {
		s.log.Warn("visits list SMS not logged for the report", "purpose", purpose, "err", lerr)
	}
	if err != nil {
		s.m.sms.WithLabelValues(purpose, "failed").Inc()
		s.log.Warn("visits list SMS not sent", "purpose", purpose, "retry", retry, "err", err)
		if !retry {
			return listSkipped, nil
		}
		return listFailed, s.st.unclaimList(ctx, today, purpose, phone)
	}
	s.m.sms.WithLabelValues(purpose, "sent").Inc()
	return listSent, nil
}

// gauges sets carebed_visits_due and carebed_visits_overdue.
func (s *Service) gauges(dues []Due) {
	s.m.due.Reset()
	s.m.overdue.Reset()
	for _, d := range dues {
		s.m.due.WithLabelValues(string(d.Kind), d.Care.Place.Township).Inc()
		if d.Overdue {
			s.m.overdue.WithLabelValues(string(d.Kind), d.Care.Place.Township).Inc()
		}
	}
}

// Signature opens every SMS the visits send, as every SMS of the gateway: carriers
// in China require the sender's signature, and people know the texts by it.
const Signature = "【巴州家庭养老床位】"

// MaxListUnits is the longest list SMS: two concatenated UCS-2 segments of 67
// characters (UTF-16 units).
const MaxListUnits = 2 * 67

// units is the length of an SMS text in UTF-16 units.
func units(s string) int { return len(utf16.Encode([]rune(s))) }

// dueText is the morning list of homes due for kind: the homes most in need first
// (* marks a recent alert), each by the number its id ends with (what the check-in
// SMS takes: "到 21" for H-0021) unless two share it, as many as fit two segments,
// then "等N户"; with the one-tap link when there is one.
func dueText(kind Kind, ds []Due, link string) string {
	head := fmt.Sprintf("%s%s提醒：今天请%s%d户：", Signature, kind.Chinese(), kind.Chinese(), len(ds))
	tail := "。到户后回复：到 编号 好/一般/差"
	if kind == KindRound {
		tail = "。巡诊后回复：巡诊 编号 血压 血糖 心率"
	}
	if link != "" {
		tail += "，或点 " + link
	}
	if slices.ContainsFunc(ds, func(d Due) bool { return d.RecentAlert }) {
		tail = "（*近日报过警，请先去）" + tail
	}
	seen := map[int]int{}
	for _, d := range ds {
		seen[tailNumber(d.Care.Place.Home)]++
	}
	return fitList(head, tail, ds, func(d Due) string {
		label := d.Care.Place.Home
		if n := tailNumber(label); n >= 0 && seen[n] == 1 {
			label = strconv.Itoa(n)
		}
		if d.RecentAlert {
			return "*" + label
		}
		return label
	})
}

// overdueText is a township clinic's daily list of homes overdue, visits and rounds.
func overdueText(township string, ds []Due) string {
	var nv, nr int
	for _, d := range ds {
		if d.Kind == KindVisit {
			nv++
		} else {
			nr++
		}
	}
	head := Signature + township + "逾期：" + strconv.Itoa(nv) + "户未按期探访，" + strconv.Itoa(nr) + "户未按期巡诊："
	return fitList(head, "。详见控制台探访页", ds, func(d Due) string {
		label := d.Care.Place.Home
		if d.Kind == KindRound {
			label += "巡诊"
		}
		if d.RecentAlert {
			label = "*" + label
		}
		return label
	})
}

// fitList writes head, the items joined by 、, and tail, leaving out the last items
// (with "等N户") so that the text fits MaxListUnits.
func fitList(head, tail string, ds []Due, label func(Due) string) string {
	for n := len(ds); n >= 0; n-- {
		items := make([]string, n)
		for i := range n {
			items[i] = label(ds[i])
		}
		text := head + strings.Join(items, "、")
		if n < len(ds) {
			text += "等" + strconv.Itoa(len(ds)) + "户"
		}
		text += tail
		if units(text) <= MaxListUnits || n == 0 {
			return text
		}
	}
	return head + tail
}

// Run sends the morning lists each day at the schedule's hour (in its zone), and
// again each minute after it while some could not be sent, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	done := -1
	for {
		now := s.o.Now()
		local := now.In(s.o.Location)
		sinceMidnight := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
		if today := day(now, s.o.Location); today != done && sinceMidnight >= s.o.Schedule.DueListAt {
			rep, err := s.Morning(ctx, now)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Error("visits morning lists failed; tried again in a minute", "err", err)
			case err == nil && rep.Failed == 0:
				done = today
				s.log.Info("visits morning lists sent", "due", rep.Due, "overdue", rep.Overdue,
					"due_sms", rep.DueSMS, "overdue_sms", rep.OverdueSMS)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
