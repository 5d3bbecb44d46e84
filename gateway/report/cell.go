package report

import (
	"fmt"
	"strconv"
	"time"
)

// Unit says what a figure measures, and so how the page and the workbook write it.
type Unit int

// Units of figures.
const (
	Text     Unit = iota // words
	Count                // a whole number
	Share                // a fraction 0..1, written as a percentage
	Duration             // seconds, written h:mm:ss (an Excel time in the workbook)
	Days                 // days, one decimal
	Yuan                 // money, two decimals
	Stamp                // a point in time (an Excel date-time in the workbook)
	Date                 // a day (an Excel date in the workbook)
)

// Why a figure is missing, as the page and the workbook write it.
const (
	NoData         = "无数据"
	InfluxDown     = "InfluxDB 不可用"
	NoTarget       = "未设目标"
	NotChanged     = "未更换"
	NotTakenReason = "未接手"
)

// Cell is one figure of a table: a value with its unit, or the reason there is none
// (Missing), which the page and the workbook write in place of a number, never as 0.
type Cell struct {
	Unit    Unit
	V       float64
	T       time.Time
	S       string
	Missing string
}

// Num is a figure of unit u.
func Num(u Unit, v float64) Cell { return Cell{Unit: u, V: v} }

// Int is a count.
func Int(n int) Cell { return Cell{Unit: Count, V: float64(n)} }

// Str is words.
func Str(s string) Cell { return Cell{Unit: Text, S: s} }

// Dur is a duration.
func Dur(d time.Duration) Cell { return Cell{Unit: Duration, V: d.Seconds()} }

// At is a point in time.
func At(t time.Time) Cell { return Cell{Unit: Stamp, T: t} }

// Gone is a figure that is missing, and why.
func Gone(u Unit, why string) Cell { return Cell{Unit: u, Missing: why} }

// OK reports whether the cell holds a figure.
func (c Cell) OK() bool { return c.Missing == "" }

// String writes the cell as the page shows it.
func (c Cell) String() string {
	if c.Missing != "" {
		return c.Missing
	}
	switch c.Unit {
	case Text:
		return c.S
	case Count:
		return strconv.FormatFloat(c.V, 'f', 0, 64)
	case Share:
		return strconv.FormatFloat(c.V*100, 'f', 1, 64) + "%"
	case Duration:
		return fmtDuration(time.Duration(c.V * float64(time.Second)))
	case Days:
		return strconv.FormatFloat(c.V, 'f', 1, 64) + "天"
	case Yuan:
		return "¥" + strconv.FormatFloat(c.V, 'f', 2, 64)
	case Stamp:
		return c.T.Format("01-02 15:04:05")
	case Date:
		return c.T.Format("01-02")
	}
	return fmt.Sprint(c.V)
}

// fmtDuration writes d as 1:02:03 (hours past 24 stay hours), or 2分05秒 under an
// hour, which people read faster.
func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if h == 0 {
		return fmt.Sprintf("%d分%02d秒", m, s)
	}
	return fmt.Sprintf("%d:%02d:%02d", h, m, s)
}
