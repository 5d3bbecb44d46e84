package service

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"carebed/alerting/notify/twilio"
	"carebed/gateway/protocol"
)

// visitsLedger gives home H-0002 of newAlertEnv a bed sensor and the care group 失能
// (visits every 7 days, rounds every 30), in the ledger's Chinese columns.
const visitsLedger = "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话,照护类别\n" +
	"和静县,巴伦台镇,巴伦台村,H-0002,测试老人乙,巴伦台村二组7号,42.74,86.29,hj-0002-bed,床垫传感器,测试探访员乙,13800000011,测试村医乙,13800000012,13900000013,13800000019,失能\n"

var smsSeq atomic.Int64

// postSMS posts an SMS from phone to the gateway's webhook, signed as Twilio signs,
// and returns the status and the TwiML answer. sid "" takes a new MessageSid.
func (e *alertEnv) postSMS(t *testing.T, sid, from, body string) (int, string) {
	t.Helper()
	if sid == "" {
		sid = fmt.Sprintf("SMvisits%024d", smsSeq.Add(1))
	}
	target := e.public + "/webhooks/twilio/sms"
	form := url.Values{"AccountSid": {twilioSID}, "MessageSid": {sid}, "SmsSid": {sid}, "From": {from},
		"To": {twilioFrom}, "Body": {body}, "NumMedia": {"0"}}
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, twilio.Sign(target, twilioToken, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestVisitsEndToEnd runs the visits through the real gateway: the morning lists by
// (fake) Twilio, a visitor's card tap on the bed sensor over MQTT (a visit, no alert),
// check-ins by signed SMS (confirmed by that tap), a doctor's round with vitals, bad
// input answered in one line with nothing recorded, a replayed SMS ignored, and the
// visit and round points in InfluxDB without names or phones.
func TestVisitsEndToEnd(t *testing.T) {
	e := newAlertEnv(t)
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(testPolicy+"visits:\n  due_list_at: \"00:00\"\n"), &node); err != nil {
		t.Fatal(err)
	}
	e.cfg.Alerting = node
	e.cfg.HTTP.PublicURL = e.public
	e.importLedger(visitsLedger)
	r := e.start()

	// The lists go out at once (due_list_at 00:00 has passed): H-0002 was never
	// visited, so it is due for a visit and a round.
	list := e.waitSMS(t, visitPhone, 1, 15*time.Second)[0]
	_, link, _ := strings.Cut(list, "或点 ")
	if !strings.HasPrefix(list, "【巴州家庭养老床位】探访提醒：今天请探访1户：2。") || !strings.HasPrefix(link, e.public+"/v/") {
		t.Errorf("visitor's list = %q", list)
	}
	if got := e.waitSMS(t, doctorPhone, 1, 15*time.Second)[0]; !strings.HasPrefix(got, "【巴州家庭养老床位】巡诊提醒：今天请巡诊1户：2。") {
		t.Errorf("doctor's list = %q", got)
	}

	// The one-tap link: the page lists H-0002 and changes nothing; its button records
	// the visit, unconfirmed until the card tap below (within 30 minutes) confirms it.
	if code, body := get(t, link); code != 200 || !strings.Contains(body, `id="home-H-0002"`) {
		t.Fatalf("link page: %d %s", code, body)
	}
	resp, err := http.PostForm(link, url.Values{"home": {"H-0002"}, "state": {"fair"}, "note": {"需要买药"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "已登记：H-0002 探访") || !strings.Contains(string(b), `id="visitlink-none"`) {
		t.Errorf("link check-in: %d %s", resp.StatusCode, b)
	}

	dev := publishClient(t, e.mq.URL, "hj-0002-bed")
	publish(t, dev, "carebed/v1/hj-0002-bed/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventVisit}))
	device := map[string]string{"kind": "visit", "source": "device", "confirmed": "true"}
	waitFor(t, 15*time.Second, "the card tap recorded as a visit", func() (bool, string) {
		n := metric(t, r.reg, "carebed_visits_checkins_total", device)
		return n == 1, fmt.Sprint(n)
	})

	tests := []struct{ from, body, reply string }{
		{visitPhone, "到 H-0002 好 精神不错", "已登记H-0002探访。谢谢！"},
		{doctorPhone, "巡诊 2 血压135/85 血糖6.2 心率72", "已登记H-0002巡诊：血压135/85 血糖6.2 心率72。谢谢！"},
		{doctorPhone, "巡诊 H-0002 血压300/20", "血压“300/20”不对，请写高压/低压，如135/85。未登记，请改正后重发。"},
		{doctorPhone, "巡诊 H-0002 血糖abc", "血糖“abc”不对，请写1到35的数，如6.2。未登记，请改正后重发。"},
		{"+8613512345678", "到 H-0002", "此号码未登记为探访员或村医，不能登记探访。请联系乡镇卫生院。"},
		{visitPhone, "到 H-0999", "没有户编号H-0999，请核对后重发。"},
		{visitPhone, "巡诊 H-0002", "巡诊只能由H-0002的村医登记。探访请回复：到 H-0002"},
	}
	for _, tt := range tests {
		code, body := e.postSMS(t, "", tt.from, tt.body)
		if code != 200 || !strings.Contains(body, "<Message>"+tt.reply+"</Message>") {
			t.Errorf("%q: %d %s, want %q", tt.body, code, body, tt.reply)
		}
	}
	// A replayed check-in (same MessageSid) is not recorded again.
	for range 2 {
		if code, body := e.postSMS(t, "SMvisitsreplay", visitPhone, "到 H-0002"); code != 200 {
			t.Fatalf("replay: %d %s", code, body)
		}
	}
	checks := map[string]float64{"visit/sms/true": 2, "round/sms/true": 1, "visit/device/true": 1, "visit/link/false": 1}
	for k, want := range checks {
		p := strings.Split(k, "/")
		if n := metric(t, r.reg, "carebed_visits_checkins_total", map[string]string{"kind": p[0], "source": p[1], "confirmed": p[2]}); n != want {
			t.Errorf("carebed_visits_checkins_total{%s} = %v, want %v", k, n, want)
		}
	}
	for reason, want := range map[string]float64{"bad_vital": 2, "unknown_sender": 1, "unknown_home": 1, "not_doctor": 1} {
		if n := metric(t, r.reg, "carebed_visits_rejected_total", map[string]string{"reason": reason}); n != want {
			t.Errorf("carebed_visits_rejected_total{reason=%s} = %v, want %v", reason, n, want)
		}
	}
	// A visit is not an alert: nobody was paged, nothing is open.
	if code, body := call(t, "GET", e.public+"/api/v1/alerts", e.admin, ""); code != 200 || strings.Contains(body, `"id"`) {
		t.Errorf("alerts after a visit event: %d %s", code, body)
	}
	if n := len(e.smsTo(familyPhone)) + len(e.smsTo(clinicPhone)); n != 0 {
		t.Errorf("%d SMS to family or clinic after a visit", n)
	}

	waitFor(t, 20*time.Second, "visits and the round in InfluxDB", func() (bool, string) {
		v := e.influx.Count(t, `SELECT COUNT(id) FROM visit WHERE home = 'H-0002'`)
		rounds := e.influx.Query(t, `SELECT sbp, dbp, glucose, hr, confirmed FROM round WHERE home = 'H-0002'`)
		confirmed := e.influx.Count(t, `SELECT COUNT(id) FROM visit WHERE home = 'H-0002' AND confirmed = true`)
		return v == 4 && confirmed == 4 && len(rounds) == 1 && fmt.Sprint(rounds[0][1:]) == "[135 85 6.2 72 true]", fmt.Sprint(v, confirmed, rounds)
	})
	for _, m := range []string{"visit", "round"} {
		all := fmt.Sprint(e.influx.Query(t, `SELECT * FROM `+m))
		for _, private := range []string{"1380000", "测试", "精神", "买药"} {
			if strings.Contains(all, private) {
				t.Errorf("InfluxDB %s holds %q: %s", m, private, all)
			}
		}
	}
}
