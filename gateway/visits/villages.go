package visits

import (
	"context"
	"time"

	"carebed/gateway/points"
)

// writeVillages writes each village's count of a morning (measurement visits_due)
// for the duty board's 探访巡诊 panel: every village with homes on a schedule, with
// how many are due and overdue, so a village with none due shows 0 rather than an
// earlier morning's count.
func (s *Service) writeVillages(ctx context.Context, dues []Due, now time.Time) error {
	if s.o.Spool == nil {
		return nil
	}
	homes, err := s.o.Homes.CareAll(ctx)
	if err != nil {
		return err
	}
	type key struct {
		county, township, village string
		round                     bool
	}
	counts := map[key]*points.VisitsDuePoint{}
	var order []key
	count := func(county, township, village string, round bool) *points.VisitsDuePoint {
		k := key{county, township, village, round}
		p, ok := counts[k]
		if !ok {
			p = &points.VisitsDuePoint{County: county, Township: township, Village: village, Round: round, At: now}
			counts[k] = p
			order = append(order, k)
		}
		return p
	}
	for _, h := range homes {
		iv := intervals(s.o.Schedule, h)
		if iv.VisitDays > 0 {
			count(h.Place.County, h.Place.Township, h.Place.Village, false).Homes++
		}
		if iv.RoundDays > 0 {
			count(h.Place.County, h.Place.Township, h.Place.Village, true).Homes++
		}
	}
	for _, d := range dues {
		p := count(d.Care.Place.County, d.Care.Place.Township, d.Care.Place.Village, d.Kind == KindRound)
		p.Due++
		if d.Overdue {
			p.Overdue++
		}
	}
	recs := make([][]byte, 0, len(order))
	for _, k := range order {
		recs = append(recs, points.AppendVisitsDue(points.AppendRecordHeader(nil, "visits"), *counts[k]))
	}
	if len(recs) == 0 {
		return nil
	}
	return s.o.Spool.Append(recs)
}
