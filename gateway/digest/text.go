package digest

import (
	"strconv"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/visits"
)

// MaxUnits is the longest digest: two concatenated UCS-2 segments of 67 characters
// (UTF-16 units), the signature included.
const MaxUnits = 2 * policy.SegmentPartChars

// DefaultSignature is the sender signature Chinese carriers require at the start.
const DefaultSignature = "【巴州家庭养老床位】"

// unsubscribeHint ends every digest: how to stop it.
const unsubscribeHint = "退订回TD"

// Text writes the week's digest: the sleep figures (or that the data is thin), the
// visits, the alerts, then how to unsubscribe. Details give way to counts when the
// text would not fit MaxUnits.
func Text(signature string, w Week) string {
	var text string
	for detail := 2; detail >= 0; detail-- {
		text = signature + w.Elder + "本周：" + sleepText(w) + "；" + visitsText(w, detail) + "；" +
			alertsText(w, detail) + "。" + unsubscribeHint
		if policy.Chars(text) <= MaxUnits {
			break
		}
	}
	return text
}

// sleepText is the bed sensor's part: time in bed, rising, night-time exits; or that
// the data is missing or thin.
func sleepText(w Week) string {
	n := w.MeasuredNights()
	switch {
	case n == 0:
		return "床垫无数据"
	case n < MinNights:
		return "床垫数据不足（" + strconv.Itoa(len(w.Nights)) + "晚中" + strconv.Itoa(n) + "晚有数据）"
	}
	var b strings.Builder
	if n < len(w.Nights) {
		b.WriteString("床垫" + strconv.Itoa(len(w.Nights)-n) + "晚无数据，")
	}
	b.WriteString("夜里平均睡" + hoursText(w.AverageInBed()))
	if r, ok := w.UsualRising(); ok {
		b.WriteString("，一般" + clockText(r) + "起床")
	}
	if w.BedExits == 0 {
		b.WriteString("，夜间没有离床")
	} else {
		b.WriteString("，夜间离床" + strconv.Itoa(w.BedExits) + "次")
	}
	return b.String()
}

// hoursText writes a duration to the nearest half hour: 7小时, 7个半小时, 半小时.
func hoursText(d time.Duration) string {
	halves := int((d + 15*time.Minute) / (30 * time.Minute))
	h := strconv.Itoa(halves / 2)
	switch {
	case halves == 1:
		return "半小时"
	case halves%2 == 1:
		return h + "个半小时"
	}
	return h + "小时"
}

// clockText writes a time of day to the nearest 10 minutes: 7点10分, 7点.
func clockText(d time.Duration) string {
	m := int((d+5*time.Minute)/(10*time.Minute)) * 10 % (24 * 60)
	s := strconv.Itoa(m/60) + "点"
	if m%60 != 0 {
		s += strconv.Itoa(m%60) + "分"
	}
	return s
}

// visitsText lists the days of the week's visits and rounds (detail 2), at most
// three days each (detail 1), or their counts (detail 0).
func visitsText(w Week, detail int) string {
	var vs, rs []time.Time
	for _, v := range w.Visits {
		if v.Kind == visits.KindRound {
			rs = append(rs, v.At)
		} else {
			vs = append(vs, v.At)
		}
	}
	if len(vs)+len(rs) == 0 {
		return "本周无人探访"
	}
	var parts []string
	if len(vs) > 0 {
		parts = append(parts, "探访员"+daysText(vs, w.Loc, detail)+"来过")
	}
	if len(rs) > 0 {
		parts = append(parts, "村医"+daysText(rs, w.Loc, detail)+"巡诊")
	}
	return strings.Join(parts, "，")
}

// daysText writes the days of the month of ts (one per day): 3日、6日; at detail 1 at
// most three and 等N次; at detail 0 N次.
func daysText(ts []time.Time, loc *time.Location, detail int) string {
	if detail == 0 {
		return strconv.Itoa(len(ts)) + "次"
	}
	var days []string
	seen := map[string]bool{}
	for _, t := range ts {
		d := strconv.Itoa(t.In(loc).Day()) + "日"
		if !seen[d] {
			seen[d] = true
			days = append(days, d)
		}
	}
	if detail == 1 && len(days) > 3 {
		return strings.Join(days[:3], "、") + "等" + strconv.Itoa(len(ts)) + "次"
	}
	return strings.Join(days, "、")
}

// alertsText is the week's alerts: 无警报, or their count, days and kinds (detail > 0,
// at most three at detail 1) and whether they were all handled.
func alertsText(w Week, detail int) string {
	if len(w.Alerts) == 0 {
		return "无警报"
	}
	s := "警报" + strconv.Itoa(len(w.Alerts)) + "次"
	if detail > 0 {
		limit := len(w.Alerts)
		if detail == 1 {
			limit = min(limit, 3)
		}
		items := make([]string, limit)
		for i, a := range w.Alerts[:limit] {
			items[i] = strconv.Itoa(a.OpenedAt.In(w.Loc).Day()) + "日" + policy.KindZH(a.Kind)
		}
		more := ""
		if limit < len(w.Alerts) {
			more = "等"
		}
		s += "（" + strings.Join(items, "、") + more + "）"
	}
	open := 0
	for _, a := range w.Alerts {
		if a.State != alerting.StateResolved {
			open++
		}
	}
	switch {
	case open == 0 && len(w.Alerts) == 1:
		return s + "，已处理"
	case open == 0:
		return s + "，均已处理"
	}
	return s + "，" + strconv.Itoa(open) + "次仍在处理"
}
