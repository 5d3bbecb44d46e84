package points

import (
	"strconv"
	"time"
)

// VisitPoint is a visit (探访) or a doctor's round (巡诊) as the visit and round
// measurements store it: place tags, how it was checked in, and the vitals the doctor
// sent. It carries no name or phone number, and no note (free text people write).
type VisitPoint struct {
	County, Township, Village, Home string
	// Round is true for a doctor's round (measurement round), false for a visit
	// (measurement visit).
	Round bool
	// Source is how it was checked in: sms, link, console or device (tag source).
	Source string
	// Device is the device a device check-in came from (tag device), "" otherwise.
	Device string
	// ID is the visit's id in the visits store; it makes the timestamp unique and
	// lets a later confirmation overwrite the same point.
	ID int64
	// State is the elder's state the visitor gave: good, fair, poor, "" (field state).
	State     string
	Confirmed bool
	// Vitals of a round; nil when not given. SBP/DBP in mmHg, glucose in mmol/L,
	// HR in beats per minute.
	SBP, DBP, HR *int
	Glucose      *float64
	At           time.Time
}

// AppendVisit appends the line of a visit or round: tags county, township, village,
// home, device (for device check-ins), source; fields id, confirmed, state and the
// vitals (sbp, dbp, glucose, hr) when given. Its timestamp is At in milliseconds plus
// the id mod 10^6 in nanoseconds: writing the same visit again (confirmed later)
// overwrites its point.
func AppendVisit(dst []byte, v VisitPoint) []byte {
	m := "visit"
	if v.Round {
		m = "round"
	}
	dst = appendSeries(dst, m, Tags{County: v.County, Township: v.Township, Village: v.Village, Home: v.Home, Device: v.Device})
	if v.Source != "" {
		dst = append(dst, ",source="...)
		dst = appendTag(dst, v.Source)
	}
	f := fields{dst: dst}
	f.integer("id", v.ID)
	f.boolean("confirmed", v.Confirmed)
	if v.State != "" {
		f.str("state", v.State)
	}
	for _, iv := range []struct {
		k string
		v *int
	}{{"sbp", v.SBP}, {"dbp", v.DBP}, {"hr", v.HR}} {
		if iv.v != nil {
			f.integer(iv.k, int64(*iv.v))
		}
	}
	if v.Glucose != nil {
		g := *v.Glucose
		f.float("glucose", &g)
	}
	dst = append(f.dst, ' ')
	dst = strconv.AppendInt(dst, v.At.UnixMilli()*1_000_000+v.ID%1_000_000, 10)
	return append(dst, '\n')
}

// VisitsDuePoint is one village's visits or rounds as a morning's lists saw them.
type VisitsDuePoint struct {
	County, Township, Village string
	// Round is true for doctors' rounds (tag kind=round), false for visits (kind=visit).
	Round bool
	// Homes are the village's homes on a schedule of this kind; Due those due that
	// morning (overdue included), Overdue those past their interval and grace.
	Homes, Due, Overdue int
	At                  time.Time
}

// AppendVisitsDue appends the line of a village's morning count (measurement
// visits_due: tags county, township, village, kind; fields homes, due, overdue).
// Its timestamp is At in milliseconds: a second run the same minute overwrites it.
func AppendVisitsDue(dst []byte, v VisitsDuePoint) []byte {
	kind := "visit"
	if v.Round {
		kind = "round"
	}
	dst = appendSeries(dst, "visits_due", Tags{County: v.County, Township: v.Township, Village: v.Village, Kind: kind})
	f := fields{dst: dst}
	f.integer("homes", int64(v.Homes))
	f.integer("due", int64(v.Due))
	f.integer("overdue", int64(v.Overdue))
	dst = append(f.dst, ' ')
	dst = strconv.AppendInt(dst, v.At.UnixMilli()*1_000_000, 10)
	return append(dst, '\n')
}
