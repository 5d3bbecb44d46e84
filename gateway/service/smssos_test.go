package service

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/firmware-sim/smsphone"
	"carebed/gateway/provision"
	"carebed/gateway/smssos"
	"carebed/internal/testlog"
)

// elderPhone is the own phone (sms_phone) of H-0002's elder in smsPhoneLedger.
const elderPhone = "+8613900000077"

// smsPhoneLedger registers H-0002's elder's feature phone (kind 手机, its number in
// 设备电话) beside the home's pendant and fall sensor.
const smsPhoneLedger = "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话,设备电话\n" +
	"和静县,巴伦台镇,巴伦台村,H-0002,测试老人乙,巴伦台村二组7号,42.74,86.29,hj-0002-phone,手机,测试探访员乙,13800000011,测试村医乙,13800000012,13900000013,13800000019,13900000077\n"

// An elder on a summer pasture without data coverage sends "SOS 42.87,83.71" from
// her own feature phone (issue 17, item 4): the gateway, told by the sender that it
// is her phone and not a responder's, raises an SOS of that phone through the same
// ingest, rules and ladder; the pages say how far and which way she is from her
// village; she is answered by SMS; the doctor's "1" from his phone still takes the
// alert; a replay of her SMS raises nothing more; the phone gets no MQTT credentials;
// and her number, text and position never reach the log.
func TestSOSBySMSFromElderPhone(t *testing.T) {
	e := newAlertEnv(t)
	logs := &testlog.Buffer{}
	e.logTo = logs
	e.importLedger(smsPhoneLedger)
	r := e.start()

	// The simulator's feature phone texts as Twilio delivers it (firmware-sim/smsphone).
	phone, err := smsphone.New("hj-0002-phone", "H-0002", "13900000077", smsphone.Webhook{
		URL: e.public + "/webhooks/twilio/sms", AuthToken: twilioToken, To: twilioFrom, AccountSID: twilioSID}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := phone.Send(context.Background(), time.Now(), "SOS 42.87,83.71")
	if err != nil || sent.Status != 200 {
		t.Fatalf("the phone's SMS: %+v %v, want 200", sent, err)
	}
	page := e.waitSMS(t, doctorPhone, 1, 15*time.Second)[0]
	e.waitSMS(t, familyPhone, 1, 10*time.Second)
	if !strings.Contains(page, "紧急呼叫") || !strings.Contains(page, "测试老人乙") ||
		!strings.Contains(page, "距巴伦台村") || !strings.Contains(page, "公里 西") {
		t.Errorf("page %q: want the SOS page of 测试老人乙 with the distance west of 巴伦台村", page)
	}
	alerts, err := r.g.alerts.List(context.Background(), alerting.Filter{})
	if err != nil || len(alerts) != 1 || alerts[0].Device != "hj-0002-phone" || alerts[0].Kind != alerting.KindSOS {
		t.Fatalf("alerts %+v %v, want one SOS of hj-0002-phone", alerts, err)
	}
	waitFor(t, 20*time.Second, "the SOS and its position in InfluxDB", func() (bool, string) {
		ev := e.influx.Query(t, `SELECT * FROM "event" WHERE device = 'hj-0002-phone' AND "type" = 'sos'`)
		pos := e.influx.Query(t, `SELECT lat, lon, acc_m FROM "positions"."position" WHERE device = 'hj-0002-phone'`)
		return len(ev) == 1 && len(pos) == 1 && fmt.Sprint(pos[0][1:]) == "[42.87 83.71 557]", fmt.Sprint(ev, pos)
	})

	// The same SMS again (Twilio's retry) changes nothing; the doctor's "1" takes it.
	if status, answer := e.postSMS(t, sent.MessageSID, elderPhone, "SOS 42.87,83.71"); status != 200 || strings.Contains(answer, "求救") {
		t.Errorf("replay answered %d", status)
	}
	// A second call for help before anyone came is answered and counts on the same
	// alert: nobody is paged twice.
	if status, answer := e.postSMS(t, "", elderPhone, "救命"); status != 200 || !strings.Contains(answer, smssos.ReplyRaised) {
		t.Errorf("second SMS answered %d %q, want %q", status, answer, smssos.ReplyRaised)
	}
	if status, answer := e.postSMS(t, "", doctorPhone, "1"); status != 200 || !strings.Contains(answer, "已确认") {
		t.Errorf("doctor's reply answered %d %q, want an acknowledgement", status, answer)
	}
	if alerts, _ := r.g.alerts.List(context.Background(), alerting.Filter{}); len(alerts) != 1 || alerts[0].State != alerting.StateAcknowledged {
		t.Errorf("alerts after the replay and the reply: %+v, want the one SOS, acknowledged", alerts)
	}
	pages := 0
	for _, m := range e.smsTo(familyPhone) {
		if strings.Contains(m, "紧急呼叫。已请") { // the family's page, not the 'taken' notice
			pages++
		}
	}
	if pages != 1 {
		t.Errorf("the family got %d SOS messages, want 1: %q", pages, e.smsTo(familyPhone))
	}
	if n := metric(t, r.reg, "carebed_sms_sos_total", map[string]string{"result": "raised", "position": "yes"}); n != 1 {
		t.Errorf("carebed_sms_sos_total{raised,yes} = %v, want 1", n)
	}
	r.stop()

	issued, err := provision.Devices(context.Background(), openRegistry(t, e.cfg.Registry.Path), provision.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range issued {
		if is.Username == "hj-0002-phone" {
			t.Error("the elder's phone was given MQTT credentials")
		}
	}
	for _, s := range []string{"13900000077", "42.87", "83.71", "SOS 42"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds %q", s)
		}
	}
}
