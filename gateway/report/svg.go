package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Chart geometry, in SVG user units (the page scales it to its width).
const (
	chartW, chartH   = 400, 160
	chartL, chartB   = 50, 20 // left margin (axis labels), bottom margin (day labels)
	chartT, chartGap = 24, 2
)

// barChart draws one bar per day of the values pick takes from each day; a day
// without a figure gets a grey 无 mark instead of a bar, never a zero bar.
func barChart(title string, days []Day, pick func(Day) Cell) template.HTML {
	top := 0.0
	for _, d := range days {
		if c := pick(d); c.OK() {
			top = math.Max(top, c.V)
		}
	}
	unit := pick(Day{}).Unit
	top = niceTop(top, unit)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s">`,
		chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="14" class="ct">%s</text>`, template.HTMLEscapeString(title))
	plotH := float64(chartH - chartB - chartT)
	base := float64(chartH - chartB)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="axis"/>`, chartL, base, chartW, base)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="grid"/>`, chartL, chartT, chartW, chartT)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="yl">%s</text>`, chartL-4, chartT+4, axisLabel(top, unit))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="yl">0</text>`, chartL-4, base+4)
	slot := float64(chartW-chartL) / float64(max(len(days), 1))
	for i, d := range days {
		x := float64(chartL) + float64(i)*slot
		if i == 0 || (i+1)%5 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="xl">%d</text>`, x+slot/2, chartH-6, i+1)
		}
		c := pick(d)
		if !c.OK() {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="na">无</text>`, x+slot/2, base-3)
			continue
		}
		h := 0.0
		if top > 0 {
			h = c.V / top * plotH
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%d日 %s</title></rect>`,
			x+chartGap/2, base-h, slot-chartGap, h, i+1, template.HTMLEscapeString(c.String()))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built here from numbers and escaped text
}

// niceTop rounds the axis top up: 100% for shares, else 1, 2 or 5 times a power of ten.
func niceTop(v float64, u Unit) float64 {
	if u == Share {
		return 1
	}
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func axisLabel(top float64, u Unit) string {
	return Num(u, top).String()
}
