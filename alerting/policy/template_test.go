package policy

import (
	"testing"

	"carebed/alerting"
)

func TestRender(t *testing.T) {
	p := Default()
	cases := []struct {
		name, purpose string
		m             Message
		want          string
	}{
		{"page", PurposePage,
			Message{Code: "K7M2", Kind: "fall", Village: "哈尔莫墩村", Home: "H-0012", Time: "03:12"},
			"【巴州家庭养老床位】哈尔莫墩村H-0012 跌倒（03:12）。回复1或K7M2表示您去处理。"},
		{"page with the elder", PurposePage,
			Message{Code: "K7M2", Kind: "sos", Village: "哈尔莫墩村", Home: "H-0012", Elder: "张奶奶", Time: "03:12"},
			"【巴州家庭养老床位】哈尔莫墩村H-0012（张奶奶） 紧急呼叫（03:12）。回复1或K7M2表示您去处理。"},
		{"page late", PurposePage,
			Message{Code: "Q2X9", Kind: "sos", Village: "查汗通古村", Home: "H-0031", Time: "21:40", Late: "12分钟"},
			"【巴州家庭养老床位】查汗通古村H-0031 紧急呼叫（21:40，迟报12分钟）。回复1或Q2X9表示您去处理。"},
		{"page with a one-tap link", PurposePage,
			Message{Code: "K7M2", Kind: "sos", Village: "哈尔莫墩村", Home: "H-0012", Time: "03:12", Link: "https://cb.example.cn/a/AbCd"},
			"【巴州家庭养老床位】哈尔莫墩村H-0012 紧急呼叫（03:12）。回复1或K7M2表示您去处理，或点 https://cb.example.cn/a/AbCd。"},
		{"page KindZH given", PurposePage,
			Message{Code: "K7M2", Kind: "fall", KindZH: "疑似跌倒", Village: "哈尔莫墩村", Home: "H-0012", Time: "03:12"},
			"【巴州家庭养老床位】哈尔莫墩村H-0012 疑似跌倒（03:12）。回复1或K7M2表示您去处理。"},
		{"taken", PurposeTaken,
			Message{Code: "K7M2", Kind: "no_vitals", Village: "哈尔莫墩村", By: "李医生"},
			"【巴州家庭养老床位】K7M2 哈尔莫墩村无生命体征已由李医生接手。"},
		{"resolved", PurposeResolved,
			Message{Code: "K7M2", Kind: "smoke", Village: "哈尔莫墩村", By: "李医生"},
			"【巴州家庭养老床位】K7M2 哈尔莫墩村烟雾报警已处理完毕（李医生）。"},
		{"resolved without by", PurposeResolved,
			Message{Code: "K7M2", Kind: "device_offline", Village: "哈尔莫墩村"},
			"【巴州家庭养老床位】K7M2 哈尔莫墩村设备离线已处理完毕。"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.Render(c.purpose, c.m)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
	if _, err := p.Render("reminder", Message{}); err == nil ||
		err.Error() != `policy: unknown template "reminder" (page, taken or resolved)` {
		t.Errorf("unknown purpose: %v", err)
	}
}

func TestKindZH(t *testing.T) {
	cases := map[alerting.Kind]string{
		alerting.KindSOS: "紧急呼叫", alerting.KindFall: "跌倒", alerting.KindSmoke: "烟雾报警",
		alerting.KindGas: "燃气泄漏", alerting.KindWaterLeak: "漏水", alerting.KindNoVitals: "无生命体征",
		alerting.KindBedExitProlonged: "夜间离床未归", alerting.KindVitalsAbnormal: "心率异常",
		alerting.KindInactivity: "长时间无活动", alerting.KindDeviceOffline: "设备离线",
		alerting.KindLowBattery: "电量低", alerting.KindTamper: "设备被拆", alerting.KindVillageOutage: "村级断线",
		"flood": "告警（flood）",
	}
	for k, want := range cases {
		if got := KindZH(k); got != want {
			t.Errorf("KindZH(%s) = %s, want %s", k, got, want)
		}
	}
}

func TestTemplateTooLong(t *testing.T) {
	_, err := Parse([]byte(`templates: {page: "{{range 100000}}{{$.Village}}{{end}}"}`))
	if want := "alerting.templates.page: renders the sample alert to more than 4000 bytes"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}
