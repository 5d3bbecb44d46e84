package console

import (
	"net/http"

	"carebed/alerting"
	"carebed/alerting/policy"
)

// Languages of the pages: Chinese, which the duty staff read, and English.
const (
	langZH = "zh"
	langEN = "en"
)

// words are the pages' texts by key and language.
var words = map[string][2]string{ // [zh, en]
	"title": {"乡镇值班台", "Duty console"},
	"nobodytrouble": {"警报 %s 有一级通知找不到人（卫生院值班电话或联系人没有登记），系统已再通知上一级。请直接打电话跟进，并请县信息中心补全联系人。",
		"Alerts %s: a step of the ladder found nobody to page (a clinic duty phone or a contact is missing from the registry); the step before was paged again. Phone people yourself and ask the county IT office to complete the contacts."},
	"smstrouble": {"短信发送失败（最近一次 %s：%s）。自动短信可能没有送到，请直接打电话给家属、村医和探访员，并告知县信息中心。",
		"SMS are failing (the latest at %s: %s). Automatic pages may not arrive: phone the families, village doctors and visitors yourself, and tell the county IT office."},
	"signin":                 {"登录", "Sign in"},
	"signout":                {"退出", "Sign out"},
	"name":                   {"用户名", "User name"},
	"password":               {"密码", "Password"},
	"badlogin":               {"用户名或密码错误", "Wrong user name or password"},
	"toomany":                {"尝试次数过多，请一分钟后再试", "Too many attempts; try again in a minute"},
	"open":                   {"待处理警报", "Open alerts"},
	"resolved":               {"最近已处理", "Recently resolved"},
	"devices":                {"设备离线与低电量", "Devices offline or low on battery"},
	"visits":                 {"探访", "Visits"},
	"visits.due":             {"到期未探访、未巡诊的户", "Homes due for a visit or a round"},
	"visits.overdue":         {"逾期", "Overdue"},
	"visits.nonedue":         {"没有到期的户", "No home is due"},
	"visits.home":            {"户编号", "Home"},
	"visits.village":         {"村", "Village"},
	"visits.what":            {"类别", "Kind"},
	"visits.last":            {"上次", "Last"},
	"visits.late":            {"超期天数", "Days late"},
	"visits.never":           {"从未", "never"},
	"visits.alerted":         {"近日报过警", "raised an alert recently"},
	"visits.record":          {"登记探访或巡诊", "Record a visit or round"},
	"visits.state":           {"老人情况", "Elder's state"},
	"visits.bp":              {"血压（高压/低压）", "Blood pressure (mmHg)"},
	"visits.glucose":         {"血糖（mmol/L）", "Glucose (mmol/L)"},
	"visits.hr":              {"心率（次/分）", "Heart rate (/min)"},
	"visits.save":            {"登记", "Record"},
	"visits.recent":          {"最近两周的探访与巡诊", "Visits and rounds of the last two weeks"},
	"visits.nonerecent":      {"最近没有登记", "Nothing recorded recently"},
	"visits.time":            {"时间", "Time"},
	"visits.how":             {"方式", "How"},
	"visits.evidence":        {"设备核实", "Sensors"},
	"visits.confirmed":       {"已核实", "confirmed"},
	"visits.unconfirmed":     {"未核实", "unconfirmed"},
	"visits.recorded":        {"已登记", "Recorded"},
	"visits.nohome":          {"您的辖区没有这个户编号：", "No such home in your area: "},
	"visits.badstate":        {"老人情况请选 好、一般 或 差", "Choose good, fair or poor"},
	"inspect":                {"抽查", "Inspections"},
	"inspect.title":          {"双随机抽查", "Random inspections"},
	"inspect.month":          {"月份", "Month"},
	"inspect.show":           {"查看", "Show"},
	"inspect.seed":           {"公开种子", "Published seed"},
	"inspect.drawnat":        {"抽取时间", "drawn"},
	"inspect.weight":         {"权重", "Weight"},
	"inspect.inspector":      {"检查人", "Inspector"},
	"inspect.result":         {"检查结果", "Result"},
	"inspect.save":           {"保存", "Save"},
	"inspect.saved":          {"检查结果已保存", "Result saved"},
	"inspect.none":           {"这个月还没有抽查。县里用 gateway report inspect 抽取后，这里会列出抽中的户。", "No draw for this month yet: the county draws with gateway report inspect."},
	"inspect.noneyours":      {"您的辖区这个月没有户被抽中", "No home of your area was drawn this month"},
	"inspect.badmonth":       {"月份请写成 2026-11 这样", "Write the month as 2026-11"},
	"inspect.notcounty":      {"只有县级用户可以填写检查结果", "Only the county's staff enter results"},
	"inspect.badoutcome":     {"检查结果请选 合格、限期整改 或 不合格", "Choose pass, to be put right or fail"},
	"inspect.nothome":        {"这个月没有抽中您辖区的这一户：", "Not drawn this month in your area: "},
	"inspect.outcome.":       {"待检查", "not inspected yet"},
	"inspect.outcome.pass":   {"合格", "pass"},
	"inspect.outcome.fix":    {"限期整改", "to be put right"},
	"inspect.outcome.fail":   {"不合格", "fail"},
	"visits.kind.visit":      {"探访", "visit"},
	"visits.kind.round":      {"巡诊", "round"},
	"visits.state.good":      {"好", "good"},
	"visits.state.fair":      {"一般", "fair"},
	"visits.state.poor":      {"差", "poor"},
	"visits.source.sms":      {"短信", "SMS"},
	"visits.source.device":   {"刷卡/按键", "card or button"},
	"visits.source.console":  {"值班台", "console"},
	"visits.source.link":     {"短信链接", "SMS link"},
	"visits.link.title":      {"探访登记", "Check in"},
	"visits.link.visit":      {"已探访", "Visited"},
	"visits.link.round":      {"已巡诊", "Round done"},
	"visits.link.none":       {"今天没有到期的户了，谢谢！", "No home is due now. Thank you!"},
	"visits.link.expired":    {"链接已过期，请用今天早上短信里的链接，或回复短信登记。", "This link has expired: use the one in this morning's SMS, or reply by SMS."},
	"visits.link.bad":        {"链接无效。请回复短信登记：到 户编号", "This link is not valid. Reply by SMS instead: 到 <home>"},
	"report":                 {"月报", "Report"},
	"report.title":           {"服务监管月报", "Monthly supervision report"},
	"report.month":           {"月份", "Month"},
	"report.partial":         {"（部分月份）", "(so far)"},
	"report.show":            {"查看", "Show"},
	"report.html":            {"网页", "Page"},
	"report.pdf":             {"PDF（A4打印）", "PDF (A4)"},
	"report.xlsx":            {"Excel表格", "Workbook (.xlsx)"},
	"report.about":           {"本辖区各乡镇的警报接手、设备在线、探访巡诊和短信费用；没有数据的项目写“无数据”，不写零。", "Alerts answered, devices online, visits and rounds, SMS cost of your area; figures without data say so rather than 0."},
	"report.village":         {"月报按乡镇出，请向乡镇值班或县民政局索取。", "The report is a township's: ask the township duty staff or the county office."},
	"report.nopdf":           {"服务器没有安装 Chromium，无法生成 PDF；请用网页打印或下载 Excel。", "No Chromium on the server to print the PDF: print the page or download the workbook."},
	"none":                   {"没有待处理的警报", "No open alerts"},
	"nonedev":                {"所有设备正常", "Every device is fine"},
	"noneresolved":           {"最近没有已处理的警报", "Nothing resolved recently"},
	"ack":                    {"我去处理", "I'm going"},
	"handover":               {"转交", "Hand over"},
	"handoverto":             {"转交给", "Hand over to"},
	"resolve":                {"结束警报", "Close the alert"},
	"outcome":                {"结果", "Outcome"},
	"note":                   {"备注", "Note"},
	"timeline":               {"经过", "Timeline"},
	"notifications":          {"通知", "Notifications"},
	"place":                  {"地点", "Place"},
	"elder":                  {"老人", "Elder"},
	"address":                {"地址", "Address"},
	"map":                    {"地图", "Map"},
	"link.away":              {"设备位置（不在家）", "The device is away from home"},
	"contacts":               {"联系人", "Contacts"},
	"readings":               {"最近数据", "Recent readings"},
	"noreadings":             {"最近一小时没有数据", "No readings in the last hour"},
	"device":                 {"设备", "Device"},
	"holder":                 {"处理人", "Taken by"},
	"nobody":                 {"无人接手", "Nobody yet"},
	"age":                    {"已过", "Open for"},
	"tta":                    {"接手用时", "Time to acknowledge"},
	"back":                   {"返回", "Back"},
	"stale":                  {"此警报有新情况，点此刷新", "This alert has changed: refresh"},
	"english":                {"English", "中文"},
	"link.title":             {"确认处理警报", "Take the alert"},
	"link.go":                {"我去处理", "I'm going"},
	"link.done":              {"已确认，谢谢。其他人已收到通知。", "Done, thank you. The others have been told."},
	"link.used":              {"此链接已经用过。", "This link has been used already."},
	"link.expired":           {"此链接已过期。请回复短信，或致电乡镇卫生院。", "This link has expired. Reply to the SMS or call the township clinic."},
	"link.bad":               {"此链接无效（可能被改动）。请回复短信。", "This link is not valid (it may have been altered). Reply to the SMS instead."},
	"link.taken":             {"此警报已由他人接手：", "Someone has taken this alert already: "},
	"link.refused":           {"您的身份不能确认此警报。请联系乡镇卫生院。", "Your role may not take this alert. Call the township clinic."},
	"link.closed":            {"此警报已经结束。", "This alert is closed."},
	"refused.taken":          {"已有人接手", "Someone has it already"},
	"refused.closed":         {"警报已结束", "The alert is closed"},
	"refused.role":           {"您的角色不能结束警报", "Your role may not close alerts"},
	"refused.bad":            {"请求有误", "Bad request"},
	"state.pending":          {"等设备取消", "Waiting for a cancel"},
	"state.open":             {"新警报", "New"},
	"state.notified":         {"已通知", "Paged"},
	"state.acknowledged":     {"已接手", "Taken"},
	"state.resolved":         {"已结束", "Closed"},
	"sev.critical":           {"紧急", "Critical"},
	"sev.high":               {"高", "High"},
	"sev.warning":            {"提示", "Warning"},
	"out.false_alarm":        {"误报", "False alarm"},
	"out.handled_at_home":    {"在家处理", "Handled at home"},
	"out.referred_to_clinic": {"转卫生院", "Referred to the clinic"},
	"out.sent_to_hospital":   {"送医院", "Sent to hospital"},
	"role.family":            {"家属", "family"},
	"role.village_visitor":   {"探访员", "village visitor"},
	"role.village_doctor":    {"村医", "village doctor"},
	"role.township_clinic":   {"卫生院", "township clinic"},
	"role.county_centre":     {"县中心", "county centre"},
	"out.cancelled":          {"设备取消", "Cancelled on the device"},
	"out.auto_resolved":      {"自动结束", "Ended by itself"},
	"out.grouped":            {"并入村级断线", "Part of a village outage"},
	// Issue 14: words for a tired person at 3 am.
	"title.township_duty":     {"乡镇值班台", "Township duty console"},
	"title.village_doctor":    {"村医警报台", "Village doctor's alerts"},
	"title.visitor":           {"探访员警报台", "Visitor's alerts"},
	"title.county_admin":      {"县级值班台", "County duty console"},
	"next":                    {"%s后升级到%s", "escalates in %s to %s"},
	"to.family":               {"家属", "the family"},
	"to.village_visitor":      {"探访员", "the visitor"},
	"to.village_doctor":       {"村医", "the village doctor"},
	"to.township_clinic":      {"卫生院", "the clinic"},
	"to.county_centre":        {"县中心", "the county centre"},
	"to.person":               {"指定人员", "named people"},
	"cancelled.card":          {"设备已按取消，但警报仍开着：请打电话或上门看一眼", "The device cancelled, but the alert stays open: phone or look in"},
	"cancelled.at":            {"设备在 %s 按了取消（短信已发出之后）。警报仍开着：请打电话或上门看一眼。", "The device cancelled at %s (after the pages went out). The alert stays open: phone or look in."},
	"choose":                  {"请选择结果", "Choose the outcome"},
	"done.acked":              {"您已接手此警报。其他被通知的人已收到短信。请尽快打电话或上门。", "You have taken this alert. The others paged have been told by SMS. Phone or go now."},
	"done.resolvedok":         {"警报已结束。", "The alert is closed."},
	"done.handednophone":      {"已转交。对方没有登记手机号，收不到短信：请打电话告诉对方。", "Handed over. They have no phone on record and got no SMS: phone them."},
	"done.handed":             {"已转交，对方已收到短信。", "Handed over; they have been sent an SMS."},
	"hr":                      {"心率", "Heart rate"},
	"rr":                      {"呼吸", "Breathing"},
	"inbed":                   {"在床", "In bed"},
	"battery":                 {"电量", "Battery"},
	"yes":                     {"是", "yes"},
	"no":                      {"否", "no"},
	"ch.sms":                  {"短信", "SMS"},
	"ch.push":                 {"应用推送", "app push"},
	"ch.webhook":              {"卫生院系统", "clinic system"},
	"ch.console":              {"值班台", "console"},
	"ch.link":                 {"短信链接", "SMS link"},
	"ch.api":                  {"接口", "API"},
	"ch.mqtt":                 {"应用", "app"},
	"ch.device":               {"设备", "device"},
	"ch.rules":                {"系统", "system"},
	"purpose.page":            {"呼叫", "page"},
	"purpose.taken":           {"已接手通知", "taken notice"},
	"purpose.resolved":        {"结束通知", "closed notice"},
	"purpose.cancelled":       {"设备取消通知", "device cancel notice"},
	"purpose.handover":        {"转交通知", "hand-over notice"},
	"status.queued":           {"发送中", "sending"},
	"status.sent":             {"已发出", "sent"},
	"status.delivered":        {"已送达", "delivered"},
	"status.failed":           {"失败", "failed"},
	"status.undelivered":      {"未送达", "undelivered"},
	"status.skipped":          {"跳过", "skipped"},
	"link.yours":              {"您已接手此警报。请尽快打电话或上门：", "You have taken this alert. Phone or go now:"},
	"link.paged":              {"同时被通知的人", "Also paged"},
	"link.call":               {"打电话", "Call"},
	"link.dutyphone":          {"乡镇卫生院值班电话：", "Township clinic duty phone: "},
	"link.countyphone":        {"县中心值班电话：", "County centre duty phone: "},
	"role.clinic":             {"卫生院值班", "clinic duty"},
	"kind.sos":                {"紧急呼叫", "SOS"},
	"kind.fall":               {"跌倒", "Fall"},
	"kind.smoke":              {"烟雾报警", "Smoke"},
	"kind.gas":                {"燃气泄漏", "Gas leak"},
	"kind.water_leak":         {"漏水", "Water leak"},
	"kind.no_vitals":          {"无生命体征", "No vital signs"},
	"kind.bed_exit_prolonged": {"夜间离床未归", "Out of bed at night"},
	"kind.vitals_abnormal":    {"心率异常", "Abnormal heart rate"},
	"kind.inactivity":         {"长时间无活动", "No activity"},
	"kind.device_offline":     {"设备离线", "Device offline"},
	"kind.low_battery":        {"电量低", "Low battery"},
	"kind.tamper":             {"设备被拆", "Device tampered"},
	"kind.village_outage":     {"村级断线", "Village offline"},
}

// lang picks the page language: ?lang= (remembered in a cookie), else the cookie,
// else Chinese.
func lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == langZH || l == langEN {
		http.SetCookie(w, &http.Cookie{Name: "carebed_lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie("carebed_lang"); err == nil && (c.Value == langZH || c.Value == langEN) {
		return c.Value
	}
	return langZH
}

// tr translates key; an unknown key shows itself (a test checks every key used).
func tr(l, key string) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	if l == langEN {
		return w[1]
	}
	return w[0]
}

// kindName is an alert kind in the page's language.
func kindName(l string, k alerting.Kind) string {
	if l == langEN {
		if w := tr(l, "kind."+string(k)); w != "kind."+string(k) {
			return w
		}
		return string(k)
	}
	return policy.KindZH(k)
}
