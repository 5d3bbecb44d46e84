package policy

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"unicode/utf16"

	"carebed/alerting"
)

// Purposes of a message: the names of the templates.
const (
	PurposePage      = "page"      // ask a responder to go (the ladder's first pages)
	PurposeEscalated = "escalated" // ask the next step to go: nobody answered
	PurposeFamily    = "family"    // tell the family who is coming; asks nothing of them
	PurposeTaken     = "taken"     // tell those paged who took the alert and their phone
	PurposeResolved  = "resolved"  // tell those involved that it is over
	PurposeCancelled = "cancelled" // tell those paged that the device cancelled after paging
	PurposeHandOver  = "handover"  // tell the new holder an alert was handed to them
	PurposeNearby    = "nearby"    // ask a responder near a herder far from home to go
)

// purposes lists the templates in the order of the file.
var purposes = []string{PurposePage, PurposeEscalated, PurposeFamily, PurposeTaken, PurposeResolved,
	PurposeCancelled, PurposeHandOver, PurposeNearby}

// Message is the data a template sees. Every field is text ready to print.
type Message struct {
	// Code is the alert's short code, e.g. "K7M2".
	Code string
	// Kind is the alert kind ("fall"), KindZH its Chinese name ("跌倒"); Render fills
	// KindZH from Kind when it is empty.
	Kind, KindZH string
	// Village and Home locate the alert; Elder is how the elder is called in an SMS.
	Village, Home, Elder string
	// Time is when the gateway received the event, on the site's clock (Beijing
	// time), e.g. "03:12".
	Time string
	// By is who took the alert (taken, resolved), or who handed it over (handover);
	// ByPhone is their phone as dialled in China ("13800000012"), empty when unknown.
	By, ByPhone string
	// Coming names who was asked to go, for the family ("村医李明"), ComingPhone their
	// phone; both empty when nobody but the family was paged.
	Coming, ComingPhone string
	// Minutes is how long the alert has waited for someone (escalated), at least 1.
	Minutes int
	// Late says how late the event reached the gateway, e.g. "12分钟"; empty when on time.
	Late string
	// Link is the one-tap acknowledgement link for this person (pages by SMS, when
	// the gateway has a public address); empty otherwise.
	Link string
	// Where says where the elder's device last was when it is away from home (an
	// SOS or a fall of a herder's pendant): "距哈尔莫敦村 23 公里 西北 https://uri.amap.com/…",
	// with the fix's age when it is old; empty at home or without a recent fix. It
	// makes the page two SMS: worth it to find a tent on a summer pasture.
	Where string
	// Near says how far and which way the elder's device is from the responder paged
	// because they are near it (nearby), e.g. "8.5 公里 西北"; empty otherwise.
	Near string
}

// defaultTemplates are Chinese SMS texts; 【...】 is the sender signature SMS gateways
// in China require.
var defaultTemplates = map[string]string{
	PurposePage:      "【巴州家庭养老床位】{{.KindZH}}：{{.Village}}{{if .Elder}}{{.Elder}}{{else}}{{.Home}}{{end}}，{{.Time}}{{if .Late}}（晚到{{.Late}}）{{end}}。回复1或{{.Code}}表示您去处理{{if .Link}} {{.Link}}{{end}}{{if .Where}}。位置：{{.Where}}{{end}}",
	PurposeEscalated: "【巴州家庭养老床位】{{.Minutes}}分钟无人接手！{{.KindZH}}：{{.Village}}{{if .Elder}}{{.Elder}}{{else}}{{.Home}}{{end}}，{{.Time}}。回复1或{{.Code}}表示您去处理{{if .Link}} {{.Link}}{{end}}{{if .Where}}。位置：{{.Where}}{{end}}",
	PurposeFamily:    "【巴州家庭养老床位】{{if .Elder}}{{.Elder}}{{else}}家中{{end}}{{.Time}}{{.KindZH}}。{{if .Coming}}已请{{.Coming}}上门{{if .ComingPhone}}，电话{{.ComingPhone}}{{end}}{{else}}正在联系村医和卫生院{{end}}。您不用回复。",
	PurposeTaken:     "【巴州家庭养老床位】{{.Village}}{{if .Elder}}{{.Elder}}{{else}}{{.Home}}{{end}}{{.KindZH}}：{{.By}}已接手{{if .ByPhone}}，电话{{.ByPhone}}{{end}}。",
	PurposeResolved:  "【巴州家庭养老床位】{{.Village}}{{if .Elder}}{{.Elder}}{{else}}{{.Home}}{{end}}{{.KindZH}}已处理完{{if .By}}（{{.By}}）{{end}}。",
	PurposeCancelled: "【巴州家庭养老床位】{{.Village}}{{if .Elder}}{{.Elder}}{{else}}{{.Home}}{{end}}的设备{{.Time}}按了取消。{{.KindZH}}警报仍开着，请打电话或上门看一眼。",
	PurposeNearby:    "【巴州家庭养老床位】{{.KindZH}}：{{.Village}}{{if .Elder}}{{.Elder}}{{else}}{{.Home}}{{end}}在外，距您{{.Near}}，{{.Time}}。回复1或{{.Code}}表示您去{{if .Link}} {{.Link}}{{end}}{{if .Where}}。位置：{{.Where}}{{end}}",
	PurposeHandOver:  "【巴州家庭养老床位】{{.By}}把{{.Village}}{{if .Elder}}{{.Elder}}{{else}}{{.Home}}{{end}}{{.KindZH}}交给您处理{{if .ByPhone}}，TA电话{{.ByPhone}}{{end}}{{if .Link}} {{.Link}}{{end}}",
}

// sampleMessage is what every template must render at load.
var sampleMessage = Message{Code: "K7M2", Kind: string(alerting.KindFall), KindZH: "跌倒",
	Village: "哈尔莫墩村", Home: "H-0012", Elder: "王奶奶", Time: "03:12", By: "李医生", Late: "12分钟",
	ByPhone: "13800000012", Coming: "村医李医生", ComingPhone: "13800000012", Minutes: 3,
	Link: "https://carebed.example.cn/a/AbCdEfGhIjKlMnOp"}

var kindsZH = map[alerting.Kind]string{
	alerting.KindSOS: "紧急呼叫", alerting.KindFall: "跌倒", alerting.KindSmoke: "烟雾报警",
	alerting.KindGas: "燃气泄漏", alerting.KindWaterLeak: "漏水", alerting.KindNoVitals: "无生命体征",
	alerting.KindBedExitProlonged: "夜间离床未归", alerting.KindVitalsAbnormal: "心率异常",
	alerting.KindInactivity: "长时间无活动", alerting.KindDeviceOffline: "设备离线",
	alerting.KindLowBattery: "电量低", alerting.KindTamper: "设备被拆", alerting.KindVillageOutage: "村级断线",
}

// KindZH returns the Chinese name of an alert kind for messages, e.g. 跌倒 for fall; an
// unknown kind gives 告警 followed by the kind in parentheses.
func KindZH(k alerting.Kind) string {
	if zh, ok := kindsZH[k]; ok {
		return zh
	}
	return "告警（" + string(k) + "）"
}

// Render executes the template for purpose (page, taken or resolved) with m. It fails
// for an unknown purpose, or when the template fails on m's data (every template has
// rendered a sample alert at load, so a template that names a missing field never
// gets here).
func (p Policy) Render(purpose string, m Message) (string, error) {
	t, ok := p.templates[purpose]
	if !ok {
		return "", fmt.Errorf("policy: unknown template %q (%s)", purpose, strings.Join(purposes, ", "))
	}
	if m.KindZH == "" && m.Kind != "" {
		m.KindZH = KindZH(alerting.Kind(m.Kind))
	}
	var b strings.Builder
	if err := t.Execute(&b, m); err != nil {
		return "", fmt.Errorf("policy: template %s: %w", purpose, err)
	}
	return b.String(), nil
}

// buildTemplates parses the templates over the defaults and renders each with the
// sample message.
func buildTemplates(c templatesConfig) (map[string]*template.Template, map[string]string, error) {
	src := map[string]string{}
	for k, v := range defaultTemplates {
		src[k] = v
	}
	for k, v := range map[string]*string{PurposePage: c.Page, PurposeTaken: c.Taken, PurposeResolved: c.Resolved,
		PurposeEscalated: c.Escalated, PurposeFamily: c.Family, PurposeCancelled: c.Cancelled, PurposeHandOver: c.HandOver,
		PurposeNearby: c.Nearby} {
		if v != nil {
			src[k] = *v
		}
	}
	out := map[string]*template.Template{}
	for _, name := range purposes {
		path := "alerting.templates." + name
		if strings.TrimSpace(src[name]) == "" {
			return nil, nil, fmt.Errorf("%s: empty", path)
		}
		t, err := template.New(name).Option("missingkey=error").Parse(src[name])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		w := &capped{left: maxRendered}
		if err := t.Execute(w, sampleMessage); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		out[name] = t
	}
	return out, src, nil
}

// maxRendered bounds a rendered sample: a text this long is no SMS.
const maxRendered = 4000

// capped is a writer that keeps nothing and fails past its limit, which also stops a
// runaway template.
type capped struct{ left int }

func (w *capped) Write(b []byte) (int, error) {
	if w.left -= len(b); w.left < 0 {
		return 0, errors.New("renders the sample alert to more than 4000 bytes")
	}
	return len(b), nil
}

// SegmentChars is what one SMS segment holds of a Chinese text (UCS-2): 70
// characters; a longer text goes as parts of SegmentPartChars each, and each part
// costs as one SMS.
const (
	SegmentChars     = 70
	SegmentPartChars = 67
)

// Chars is the length of text as carriers count it for a Chinese (UCS-2) SMS: UTF-16
// code units, so a character outside the basic plane counts twice.
func Chars(text string) int { return len(utf16.Encode([]rune(text))) }

// Segments is how many SMS segments text goes as: one up to 70 characters, else
// parts of 67 (ceil(n/67)). Every text here has Chinese in it, so this is the UCS-2
// count, never GSM-7's 160.
func Segments(text string) int {
	n := Chars(text)
	if n <= SegmentChars {
		return 1
	}
	return (n + SegmentPartChars - 1) / SegmentPartChars
}

// LocalPhone writes a phone as dialled in China: "+8613800000012" as "13800000012";
// other numbers as they are.
func LocalPhone(e164 string) string { return strings.TrimPrefix(e164, "+86") }
