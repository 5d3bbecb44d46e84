package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"carebed/gateway/inspect"
)

// InspectionReader reads a month's random inspection draw with the results entered
// so far, or inspect.ErrNotFound when the month was not drawn. The command and the
// console give inspect.ReadMonth with the data folder.
type InspectionReader func(ctx context.Context, m inspect.Month) (inspect.Record, error)

// The words of the 抽查 section.
const (
	NotDrawn      = "本月未抽查"
	NoneDrawnHere = "本辖区本月没有户被抽中"
	NotInspected  = "未检查"
)

// InspectFigures is a part's share of the month's draw: the draw itself (the same for
// every part) and the homes drawn in the part's area with their results.
type InspectFigures struct {
	// Drawn is false when the month has no draw (本月未抽查).
	Drawn   bool
	Seed    uint64
	DrawnAt time.Time
	// Scope is the county the draw was made from, "" for all homes.
	Scope string
	Homes []InspectHome
	// Outcomes counts the part's homes by result; pending ones under OutcomePending.
	Outcomes map[inspect.Outcome]int
}

// InspectHome is one home drawn, with its inspector and result.
type InspectHome struct {
	Village, Home string
	Inspector     string // name（unit）
	Weight        int
	Outcome       inspect.Outcome
	Note          string
	// At is when the result was entered; zero while not inspected.
	At time.Time
}

// readInspection reads the month's draw; ok false when there is none (or no reader).
func readInspection(ctx context.Context, read InspectionReader, m Month) (inspect.Record, bool, error) {
	if read == nil {
		return inspect.Record{}, false, nil
	}
	im := inspect.Month{Year: m.Start.Year(), Month: m.Start.Month()}
	rec, err := read(ctx, im)
	switch {
	case errors.Is(err, inspect.ErrNotFound):
		return rec, false, nil
	case err != nil:
		return rec, false, fmt.Errorf("report: inspection draw %s: %w", im, err)
	}
	return rec, true, nil
}

// inspectFigures is the part's (county, town "" for the whole county) share of rec.
func inspectFigures(rec inspect.Record, drawn bool, county, town string) InspectFigures {
	f := InspectFigures{Drawn: drawn, Outcomes: map[inspect.Outcome]int{}}
	if !drawn {
		return f
	}
	f.Seed, f.DrawnAt, f.Scope = rec.Seed, rec.DrawnAt, rec.Scope
	for _, e := range rec.Entries {
		p := e.Place
		if p.County != county || (town != "" && p.Township != town) {
			continue
		}
		who := e.Inspector.Name
		if e.Inspector.Unit != "" {
			who += "（" + e.Inspector.Unit + "）"
		}
		f.Homes = append(f.Homes, InspectHome{Village: p.Village, Home: p.Home, Inspector: who,
			Weight: int(e.Weight()), Outcome: e.Result.Outcome, Note: e.Result.Note, At: e.Result.At})
		f.Outcomes[e.Result.Outcome]++
	}
	return f
}

// outcomeWord is an inspection result as the report writes it.
func outcomeWord(o inspect.Outcome) string {
	if o == inspect.OutcomePending {
		return NotInspected
	}
	return o.Chinese()
}

var inspectOutcomes = []inspect.Outcome{inspect.OutcomePass, inspect.OutcomeFix, inspect.OutcomeFail, inspect.OutcomePending}

// inspectDrawTable is the draw: its seed, when it was made, from where, and the part's
// homes by result.
func (p Part) inspectDrawTable() Table {
	t := Table{Sheet: "抽查", Title: "双随机抽查", Head: []string{"项目", "数值"},
		Note: "本月的抽查：用本月数据加权抽取，之后几周检查；结果为生成本报表时已录入的。种子公开，可复核（见抽查说明）。"}
	f := p.Inspect
	if !f.Drawn {
		t.Rows = [][]Cell{{Str(NotDrawn)}}
		return t
	}
	scope := f.Scope
	if scope == "" {
		scope = "全部"
	}
	t.Rows = [][]Cell{{Str("种子"), Str(fmt.Sprint(f.Seed))}, {Str("抽取时间"), At(f.DrawnAt.In(p.loc))},
		{Str("抽取范围"), Str(scope)}, {Str("本辖区抽中户数"), Int(len(f.Homes))}}
	for _, o := range inspectOutcomes {
		t.Rows = append(t.Rows, []Cell{Str(outcomeWord(o)), Int(f.Outcomes[o])})
	}
	return t
}

// inspectHomesTable is the part's homes drawn, with inspector, weight and result.
func (p Part) inspectHomesTable() Table {
	t := Table{Sheet: "抽查结果", Title: "抽查的户与结果",
		Head: []string{"村", "户", "检查人", "权重", "结果", "备注", "录入时间"},
		Note: "权重 = 1 + 2×未核实探访巡诊 + 3×月底逾期项 + 3×慢接警（抽取当时的数据）。"}
	f := p.Inspect
	switch {
	case !f.Drawn:
		t.Rows = [][]Cell{{Str(NotDrawn)}}
		return t
	case len(f.Homes) == 0:
		t.Rows = [][]Cell{{Str(NoneDrawnHere)}}
		return t
	}
	for _, h := range f.Homes {
		at := Gone(Stamp, NotInspected)
		if !h.At.IsZero() {
			at = At(h.At.In(p.loc))
		}
		t.Rows = append(t.Rows, []Cell{Str(h.Village), Str(h.Home), Str(h.Inspector), Int(h.Weight),
			Str(outcomeWord(h.Outcome)), Str(h.Note), at})
	}
	return t
}
