package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
)

// Table is one section of a part as the page and the workbook write it: the
// workbook puts the tables of one Sheet of every part on that sheet, one after the
// other, with the township in the first column.
type Table struct {
	Sheet, Title string
	Head         []string
	Rows         [][]Cell
	// Note says how the figures are counted, under the table.
	Note string
	// BookOnly: in the workbook only (the page draws it as charts).
	BookOnly bool
}

// Tables returns the part's sections in the order the page shows them.
func (p Part) Tables() []Table {
	return []Table{p.summaryTable(), p.kindTable(), p.outcomeTable(), p.slowTable(), p.timelineTable(),
		p.deviceTable(), p.visitTable(), p.smsTable(), p.inspectDrawTable(), p.inspectHomesTable(), p.dailyTable()}
}

func (p Part) summaryTable() Table {
	a, d, sms := p.Alerts, p.Devs, p.SMS.Total()
	overdue := Int(len(p.Visits.Overdue))
	silent := Int(len(d.Silent))
	if !d.Online.OK() && d.Online.Missing == InfluxDown {
		overdue, silent = Gone(Count, InfluxDown), Gone(Count, InfluxDown)
	}
	rows := [][]Cell{
		{Str("住户"), Int(p.Homes)}, {Str("设备"), Int(p.Devices)},
		{Str("警报总数"), Int(a.All.Total)}, {Str("接手用时 中位数"), a.All.P50},
		{Str("接手用时 90%"), a.All.P90}, {Str("接手用时 最长"), a.All.Max},
		{Str("按时接手比例"), a.All.InTime}, {Str("升级到卫生院或县中心"), Int(a.Escalated)},
		{Str("设备在线率"), d.Online}, {Str("离线次数"), Int(d.Offline)}, {Str("离线总时长"), d.OfflineTime},
		{Str("低电量次数"), Int(d.LowBattery)}, {Str("低电量到更换 平均天数"), d.DaysToChange},
		{Str("超过7天无信号的户"), silent}, {Str("探访巡诊逾期的户"), overdue},
		{Str("短信 已发"), sms.Sent}, {Str("短信 失败"), sms.Failed}, {Str("短信 估算费用"), sms.Cost},
	}
	return Table{Sheet: "概况", Title: "概况", Head: []string{"项目", "数值"}, Rows: rows}
}

var sevs = []alerting.Severity{alerting.Critical, alerting.High, alerting.Warning}

func (p Part) kindTable() Table {
	t := Table{Sheet: "警报", Title: "警报：类型、级别与接手用时",
		Head: []string{"类型", "紧急", "重要", "一般", "合计", "需接手", "已接手", "用时中位数", "用时90%", "最长", "目标", "按时比例"},
		Note: "接手用时：从警报产生到有人点“我去处理”（或短信回复）；需接手：通知过人或有人接手的警报；按时比例：需接手中在目标时间内接手的比例。"}
	row := func(name string, r KindRow) []Cell {
		cs := []Cell{Str(name)}
		for _, s := range sevs {
			cs = append(cs, Int(r.BySev[s]))
		}
		target := Gone(Duration, NoTarget)
		if r.Target > 0 {
			target = Dur(r.Target)
		}
		if r.Kind == "" {
			target = Str("各类目标")
		}
		return append(cs, Int(r.Total), Int(r.Paged), Int(r.Taken), r.P50, r.P90, r.Max, target, r.InTime)
	}
	for _, r := range p.Alerts.Kinds {
		t.Rows = append(t.Rows, row(policy.KindZH(r.Kind), r))
	}
	if len(p.Alerts.Kinds) == 0 {
		t.Rows = append(t.Rows, []Cell{Str("本月无警报")})
		return t
	}
	t.Rows = append(t.Rows, row("合计", p.Alerts.All))
	return t
}

var outcomeZH = map[alerting.Outcome]string{
	alerting.OutcomeCancelled: "设备取消（未通知）", alerting.OutcomeFalseAlarm: "误报",
	alerting.OutcomeHandledAtHome: "在家处理", alerting.OutcomeReferred: "转卫生院",
	alerting.OutcomeHospital: "送医院", alerting.OutcomeAutoResolved: "自动恢复",
	alerting.OutcomeGrouped: "并入村级断线",
}

var outcomes = []alerting.Outcome{alerting.OutcomeFalseAlarm, alerting.OutcomeHandledAtHome, alerting.OutcomeReferred,
	alerting.OutcomeHospital, alerting.OutcomeAutoResolved, alerting.OutcomeCancelled, alerting.OutcomeGrouped}

func (p Part) outcomeTable() Table {
	t := Table{Sheet: "处理结果", Title: "处理结果", Head: []string{"结果", "数量"}}
	for _, o := range outcomes {
		t.Rows = append(t.Rows, []Cell{Str(outcomeZH[o]), Int(p.Alerts.Outcomes[o])})
	}
	t.Rows = append(t.Rows, []Cell{Str("尚未结束"), Int(p.Alerts.Open)},
		[]Cell{Str("升级到卫生院或县中心"), Int(p.Alerts.Escalated)})
	return t
}

func (p Part) slowTable() Table {
	t := Table{Sheet: "最慢五次", Title: "接手最慢的五次",
		Head: []string{"编号", "类型", "村", "户", "产生时间", "接手时间", "接手用时", "接手渠道", "结果"}}
	for _, s := range p.Alerts.Slowest {
		a := s.Alert
		t.Rows = append(t.Rows, []Cell{Str(a.Code), Str(policy.KindZH(a.Kind)), Str(a.Place.Village), Str(a.Place.Home),
			At(a.OpenedAt.In(p.loc)), At(a.AckedAt.In(p.loc)), Dur(s.Take), Str(channelZH(a.AckChannel)), Str(outcomeText(a))})
	}
	if len(t.Rows) == 0 {
		t.Rows = append(t.Rows, []Cell{Gone(Text, NoData)})
	}
	return t
}

func (p Part) timelineTable() Table {
	t := Table{Sheet: "最慢五次经过", Title: "接手最慢五次的经过", Head: []string{"编号", "时间", "距产生", "事件", "渠道", "说明"}}
	for _, s := range p.Alerts.Slowest {
		for _, r := range s.Audit {
			t.Rows = append(t.Rows, []Cell{Str(s.Alert.Code), At(r.At.In(p.loc)), Dur(r.At.Sub(s.Alert.OpenedAt)),
				Str(auditZH(r.What)), Str(channelZH(r.Channel)), Str(detailZH(r.What, r.Detail))})
		}
	}
	if len(t.Rows) == 0 {
		t.Rows = append(t.Rows, []Cell{Gone(Text, NoData)})
	}
	return t
}

func outcomeText(a alerting.Alert) string {
	if a.State != alerting.StateResolved {
		return "尚未结束"
	}
	if s, ok := outcomeZH[a.Outcome]; ok {
		return s
	}
	return string(a.Outcome)
}

var auditWords = map[string]string{
	"raised": "产生", "repeat": "重复", "notification_sent": "通知已发", "notification_failed": "通知失败",
	"notification_queued": "通知排队", "notification_skipped": "通知跳过", "delivery_delivered": "短信送达",
	"delivery_undelivered": "短信未送达", "delivery_failed": "短信失败", "escalation_step": "按级通知",
	"escalation_empty_step": "升级找不到人", "acknowledged": "接手", "handed_over": "转交", "resolved": "结束",
	"cancelled": "设备取消", "device_cancelled": "设备取消（已通知后）", "grouped": "并入村级断线",
	"ack_refused": "接手被拒", "resolve_refused": "结束被拒", "link_refused": "链接无效",
}

func auditZH(what string) string {
	if s, ok := auditWords[what]; ok {
		return s
	}
	return what
}

var purposeWords = map[string]string{"page": "通知出动", "escalated": "升级通知", "family": "告知家属",
	"taken": "告知已接手", "resolved": "告知已结束", "cancelled": "告知已取消", "handover": "告知转交", "test": "测试"}

var stepRE = regexp.MustCompile(`^steps? (\d+)(?:-(\d+))?: (\d+) notifications$`)

// detailZH writes an audit row's detail in Chinese where it is one of the store's
// fixed phrases (a purpose, an outcome, an escalation step); free text stays.
func detailZH(what, detail string) string {
	if o, ok := outcomeZH[alerting.Outcome(detail)]; ok {
		return o
	}
	if n, ok := alerting.OutageJoins(detail); ok {
		return fmt.Sprintf("1 秒内共 %d 台设备断线", n)
	}
	if m := stepRE.FindStringSubmatch(detail); m != nil {
		from, _ := strconv.Atoi(m[1])
		through := from
		if m[2] != "" {
			through, _ = strconv.Atoi(m[2])
		}
		steps := fmt.Sprintf("第%d级", from+1)
		if through != from {
			steps = fmt.Sprintf("第%d至%d级", from+1, through+1)
		}
		return steps + "：" + m[3] + "条通知"
	}
	if strings.HasPrefix(what, "notification_") {
		purpose, rest, _ := strings.Cut(detail, " ")
		if zh, ok := purposeWords[purpose]; ok {
			return strings.TrimSpace(zh + " " + rest)
		}
	}
	return detail
}

var channelWords = map[string]string{"sms": "短信", "api": "接口", "console": "值班台", "mqtt": "应用", "link": "短信链接",
	"device": "设备", "voice": "电话", "app": "应用", "": ""}

func channelZH(c string) string {
	if s, ok := channelWords[c]; ok {
		return s
	}
	return c
}

func (p Part) deviceTable() Table {
	t := Table{Sheet: "设备", Title: "设备：在线、离线与电池",
		Head: []string{"村", "户", "在线率", "离线次数", "离线时长", "最长一次", "低电量次数", "到更换天数", "超过7天无信号"},
		Note: "在线率：设备状态已知的时间中在线的比例（设备上线、下线消息和网关发现的无信号）；离线时长只计本月之内。"}
	for _, h := range p.Devs.Homes {
		silent := "否"
		if h.Silent {
			silent = "是"
		}
		t.Rows = append(t.Rows, []Cell{Str(h.Village), Str(h.Home), h.Online, Int(h.Offline), h.OfflineTime, h.Longest,
			Int(h.LowBattery), h.DaysToChange, Str(silent)})
	}
	return t
}

func (p Part) visitTable() Table {
	t := Table{Sheet: "探访巡诊", Title: "探访与巡诊：按照护类别",
		Head: []string{"照护类别", "类别", "户数", "应做", "已做", "完成率", "逾期户", "设备核实比例"},
		Note: "应做：每户本月天数除以间隔天数（取整，至少1次）；逾期户：月底时距上次超过间隔加宽限天数的户。"}
	for _, r := range p.Visits.Rows {
		g := r.Group.Chinese()
		if r.Group == "" {
			g = "台账自定"
		}
		kind := "探访"
		if r.Kind == "round" {
			kind = "巡诊"
		}
		t.Rows = append(t.Rows, []Cell{Str(g), Str(kind), Int(r.Homes), Int(r.Due), r.Done, r.Rate, r.Overdue, r.Confirmed})
	}
	if len(t.Rows) == 0 {
		t.Rows = append(t.Rows, []Cell{Gone(Text, NoData)})
	}
	if len(p.Visits.Overdue) > 0 {
		t.Note += " 逾期户：" + strings.Join(p.Visits.Overdue, "、")
	}
	return t
}

func (p Part) smsTable() Table {
	t := Table{Sheet: "短信", Title: "短信：按用途",
		Head: []string{"用途", "已发", "失败", "其他（排队、限额跳过）", "短信段数", "估算费用"},
		Note: "警报：本月警报的短信，每条按一段计（都写在一段之内）；探访提醒（每天早上的探访、巡诊名单和逾期名单）、家属周报：按发送时记下的段数计费。" +
			"无数据：升级前发出的短信没有记下乡镇、失败或段数。"}
	for _, r := range p.SMS.Rows {
		t.Rows = append(t.Rows, []Cell{Str(r.Purpose), r.Sent, r.Failed, r.Other, r.Segments, r.Cost})
	}
	return t
}

func (p Part) dailyTable() Table {
	t := Table{Sheet: "每日", Title: "每日", Head: []string{"日期", "警报", "接手用时中位数", "设备在线率", "探访巡诊"}, BookOnly: true}
	for _, d := range p.Daily {
		t.Rows = append(t.Rows, []Cell{{Unit: Date, T: d.Date}, d.Alerts, d.Take, d.Online, d.Visits})
	}
	return t
}

// Title is the report's heading.
func (r Report) Title() string {
	where := r.Scope.County
	if r.Scope.Township != "" {
		where += r.Scope.Township
	}
	t, _ := time.Parse("2006-01", r.Month.Label)
	s := fmt.Sprintf("%s %d年%d月 家庭养老床位服务监管月报", where, t.Year(), int(t.Month()))
	if r.Month.Partial {
		s += "（部分月份）"
	}
	return s
}
