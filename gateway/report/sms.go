package report

import (
	"context"
	"fmt"
	"time"
)

// What the report's SMS are for.
const (
	PurposeAlerts = "警报"
	PurposeVisits = "探访提醒" // the visits' morning lists (due visits, due rounds, overdue homes)
	PurposeDigest = "家属周报" // the weekly family digest
)

// otherPurposes are the purposes an SMSReader gives, in the table's order.
var otherPurposes = []string{PurposeVisits, PurposeDigest}

// NotApplicable marks a figure that has no meaning for the row (lists and digests
// are never queued or skipped by a limit).
const NotApplicable = "—"

// SMSSend is one SMS other than an alert's that the gateway sent or tried to send.
type SMSSend struct {
	Purpose string // PurposeVisits or PurposeDigest
	// County and Township are where it belongs; when "", Home says (looked up in the
	// registry). All three "": not recorded (the purpose's figures are 无数据).
	County, Township, Home string
	At                     time.Time
	Failed                 bool
	// Segments of the text; 0 when not recorded (the cost is 无数据).
	Segments int
	// Old: recorded before failures were kept, so the failures are 无数据.
	Old bool
}

// SMSReader reads the SMS other than the alerts' sent in [from, to): the command
// and the console read the visits' and the digest's databases of the data folder.
type SMSReader func(ctx context.Context, from, to time.Time) ([]SMSSend, error)

// SMSRow is one purpose's SMS, or the total (Purpose 合计).
type SMSRow struct {
	Purpose                             string
	Sent, Failed, Other, Segments, Cost Cell
}

// SMSFigures are the part's SMS by purpose (警报, 探访提醒, 家属周报), then the total.
type SMSFigures struct {
	Rows []SMSRow
}

// Total is the row of all purposes.
func (f SMSFigures) Total() SMSRow { return f.Rows[len(f.Rows)-1] }

// otherSMS is what an SMSReader read for the report: nil sends with ok false when
// there is no reader.
type otherSMS struct {
	ok    bool
	sends []SMSSend
}

func readOtherSMS(ctx context.Context, read SMSReader, m Month) (otherSMS, error) {
	if read == nil {
		return otherSMS{}, nil
	}
	sends, err := read(ctx, m.Start, m.Until)
	if err != nil {
		return otherSMS{}, fmt.Errorf("report: SMS of the visits and digests: %w", err)
	}
	return otherSMS{ok: true, sends: sends}, nil
}

// smsFigures counts the part's (county, town; "" the whole county) SMS: the alerts'
// from their attempts, the others from o, with homes placed by homes.
func smsFigures(ds []detail, o otherSMS, homes map[string]Home, county, town string, price float64) SMSFigures {
	f := SMSFigures{Rows: []SMSRow{alertSMSRow(ds, price)}}
	for _, purpose := range otherPurposes {
		f.Rows = append(f.Rows, otherRow(purpose, o, homes, county, town, price))
	}
	f.Rows = append(f.Rows, totalRow(f.Rows))
	return f
}

// otherRow counts one purpose's SMS of the part.
func otherRow(purpose string, o otherSMS, homes map[string]Home, county, town string, price float64) SMSRow {
	gone := Gone(Count, NoData)
	row := SMSRow{Purpose: purpose, Sent: gone, Failed: gone, Other: Gone(Count, NotApplicable), Segments: gone,
		Cost: Gone(Yuan, NoData)}
	if !o.ok {
		return row
	}
	var sent, failed, segs int
	old, noSegs := false, false
	for _, s := range o.sends {
		if s.Purpose != purpose {
			continue
		}
		c, t := s.County, s.Township
		if t == "" && s.Home != "" {
			h, ok := homes[s.Home]
			if !ok {
				continue // a home no longer registered: no township to count it in
			}
			c, t = h.Place.County, h.Place.Township
		}
		if t == "" {
			return row // not recorded where: no township's figure can be told
		}
		if c != county || (town != "" && t != town) {
			continue
		}
		old = old || s.Old
		if s.Failed {
			failed++
			continue
		}
		sent++
		segs += s.Segments
		noSegs = noSegs || s.Segments == 0
	}
	row.Sent = Int(sent)
	if !old {
		row.Failed = Int(failed)
	}
	if !noSegs {
		row.Segments, row.Cost = Int(segs), Num(Yuan, float64(segs)*price)
	}
	return row
}

// totalRow sums the rows; a column with a figure missing in some row is 无数据.
func totalRow(rows []SMSRow) SMSRow {
	sum := func(unit Unit, get func(SMSRow) Cell) Cell {
		v := 0.0
		for _, r := range rows {
			c := get(r)
			switch {
			case c.OK():
				v += c.V
			case c.Missing != NotApplicable:
				return Gone(unit, NoData)
			}
		}
		return Num(unit, v)
	}
	return SMSRow{Purpose: "合计",
		Sent:     sum(Count, func(r SMSRow) Cell { return r.Sent }),
		Failed:   sum(Count, func(r SMSRow) Cell { return r.Failed }),
		Other:    sum(Count, func(r SMSRow) Cell { return r.Other }),
		Segments: sum(Count, func(r SMSRow) Cell { return r.Segments }),
		Cost:     sum(Yuan, func(r SMSRow) Cell { return r.Cost })}
}
