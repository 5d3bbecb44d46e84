package policy

import (
	"errors"
	"fmt"
	"strings"
	"text/template"

	"carebed/alerting"
)

// Purposes of a message: the names of the templates.
const (
	PurposePage     = "page"     // ask someone to go
	PurposeTaken    = "taken"    // tell those paged who took the alert
	PurposeResolved = "resolved" // tell those involved that it is over
)

// purposes lists the templates in the order of the file.
var purposes = []string{PurposePage, PurposeTaken, PurposeResolved}

// Message is the data a template sees. Every field is text ready to print.
type Message struct {
	// Code is the alert's short code, e.g. "K7M2".
	Code string
	// Kind is the alert kind ("fall"), KindZH its Chinese name ("跌倒"); Render fills
	// KindZH from Kind when it is empty.
	Kind, KindZH string
	// Village and Home locate the alert; Elder is how the elder is called in an SMS.
	Village, Home, Elder string
	// Time is the event's local time, e.g. "03:12".
	Time string
	// By is who took the alert (for taken and resolved).
	By string
	// Late says how late the event reached the gateway, e.g. "12分钟"; empty when on time.
	Late string
	// Link is the one-tap acknowledgement link for this person (pages by SMS, when
	// the gateway has a public address); empty otherwise.
	Link string
}

// defaultTemplates are Chinese SMS texts; 【...】 is the sender signature SMS gateways
// in China require.
var defaultTemplates = map[string]string{
	PurposePage:     "【巴州家庭养老床位】{{.Village}}{{.Home}}{{if .Elder}}（{{.Elder}}）{{end}} {{.KindZH}}（{{.Time}}{{if .Late}}，迟报{{.Late}}{{end}}）。回复1或{{.Code}}表示您去处理{{if .Link}}，或点 {{.Link}}{{end}}。",
	PurposeTaken:    "【巴州家庭养老床位】{{.Code}} {{.Village}}{{.KindZH}}已由{{.By}}接手。",
	PurposeResolved: "【巴州家庭养老床位】{{.Code}} {{.Village}}{{.KindZH}}已处理完毕{{if .By}}（{{.By}}）{{end}}。",
}

// sampleMessage is what every template must render at load.
var sampleMessage = Message{Code: "K7M2", Kind: string(alerting.KindFall), KindZH: "跌倒",
	Village: "哈尔莫墩村", Home: "H-0012", Elder: "王奶奶", Time: "03:12", By: "李医生", Late: "12分钟",
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
		return "", fmt.Errorf("policy: unknown template %q (page, taken or resolved)", purpose)
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
	for k, v := range map[string]*string{PurposePage: c.Page, PurposeTaken: c.Taken, PurposeResolved: c.Resolved} {
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
