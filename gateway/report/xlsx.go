package report

import (
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"
)

// Number formats of the workbook's cells by unit.
var numFmts = map[Unit]string{
	Count: "0", Share: "0.0%", Duration: "[h]:mm:ss", Days: "0.0", Yuan: "0.00",
	Stamp: "yyyy-mm-dd hh:mm:ss", Date: "yyyy-mm-dd",
}

// excelEpoch is day 0 of Excel's 1900 date system (as Excel counts, past its
// 1900 leap-year bug).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// WriteXLSX writes the report as a workbook: one sheet per section (概况, 警报, ...),
// each with the township in its first column, numbers as numbers, durations as
// Excel times ([h]:mm:ss) and times as Excel date-times in the report's zone; a
// missing figure is its reason as text (无数据, InfluxDB 不可用), never 0.
func (r Report) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	x := &book{f: f, styles: map[Unit]int{}, next: map[string]int{}, loc: r.Month.Start.Location()}
	for _, p := range r.Parts {
		for _, t := range p.Tables() {
			if err := x.table(r, p.Name(), t); err != nil {
				return err
			}
		}
	}
	if err := f.DeleteSheet("Sheet1"); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	return f.Write(w)
}

// book is the workbook being written: the styles made so far and each sheet's next row.
type book struct {
	f      *excelize.File
	styles map[Unit]int
	next   map[string]int
	loc    *time.Location
}

// table appends a part's table to its sheet, making the sheet (title, notes and
// header row) the first time.
func (x *book) table(r Report, part string, t Table) error {
	row, ok := x.next[t.Sheet]
	if !ok {
		if _, err := x.f.NewSheet(t.Sheet); err != nil {
			return err
		}
		row = x.start(r, t)
	}
	for _, cs := range t.Rows {
		if err := x.set(t.Sheet, 1, row, Str(part)); err != nil {
			return err
		}
		for i, c := range cs {
			if err := x.set(t.Sheet, i+2, row, c); err != nil {
				return err
			}
		}
		row++
	}
	x.next[t.Sheet] = row
	return nil
}

// start writes a sheet's title, notes and header row and returns the first data row.
func (x *book) start(r Report, t Table) int {
	x.f.SetCellValue(t.Sheet, "A1", r.Title()+" · "+t.Title) //nolint:errcheck // the sheet exists
	note := t.Note
	if r.Month.Partial {
		note = "部分月份：统计到 " + r.Month.Until.In(x.loc).Format("2006-01-02 15:04") + "。" + note
	}
	if r.InfluxError != "" {
		note = "InfluxDB 不可用：" + r.InfluxError + "。" + note
	}
	x.f.SetCellValue(t.Sheet, "A2", note) //nolint:errcheck // the sheet exists
	head := append([]string{"乡镇"}, t.Head...)
	for i, h := range head {
		name, _ := excelize.CoordinatesToCellName(i+1, 3)
		x.f.SetCellValue(t.Sheet, name, h) //nolint:errcheck // the sheet exists
	}
	x.f.SetColWidth(t.Sheet, "A", "A", 14) //nolint:errcheck // the sheet exists
	x.f.SetColWidth(t.Sheet, "B", "Z", 12) //nolint:errcheck // the sheet exists
	x.f.SetPanes(t.Sheet, &excelize.Panes{ //nolint:errcheck // the sheet exists
		Freeze: true, YSplit: 3, TopLeftCell: "A4", ActivePane: "bottomLeft"})
	return 4
}

// set writes one cell: a number with its unit's format, or text.
func (x *book) set(sheet string, col, row int, c Cell) error {
	name, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return err
	}
	var v any
	switch {
	case !c.OK():
		v = c.Missing
	case c.Unit == Text:
		v = c.S
	case c.Unit == Duration:
		v = c.V / 86400
	case c.Unit == Stamp || c.Unit == Date:
		v = excelTime(c.T.In(x.loc))
	default:
		v = c.V
	}
	if err := x.f.SetCellValue(sheet, name, v); err != nil {
		return err
	}
	if !c.OK() || c.Unit == Text {
		return nil
	}
	style, err := x.style(c.Unit)
	if err != nil {
		return err
	}
	return x.f.SetCellStyle(sheet, name, name, style)
}

func (x *book) style(u Unit) (int, error) {
	if id, ok := x.styles[u]; ok {
		return id, nil
	}
	code := numFmts[u]
	id, err := x.f.NewStyle(&excelize.Style{CustomNumFmt: &code})
	if err != nil {
		return 0, fmt.Errorf("xlsx style %q: %w", code, err)
	}
	x.styles[u] = id
	return id, nil
}

// excelTime is t's wall clock as an Excel serial date (days since 1899-12-30).
func excelTime(t time.Time) float64 {
	wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return wall.Sub(excelEpoch).Hours() / 24
}
