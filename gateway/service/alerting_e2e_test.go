package service

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.yaml.in/yaml/v3"

	"carebed/alerting"
	"carebed/alerting/notify/twilio"
	"carebed/alerting/notify/twilio/twiliotest"
	"carebed/alerting/rules"
	"carebed/gateway/auth"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/testwait"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "0123456789abcdef0123456789abcdef"
	twilioFrom  = "+15005550006"
	doctorPhone = "+8613800000012"
	familyPhone = "+8613900000013"
	visitPhone  = "+8613800000011"
	clinicPhone = "+8613800000019"
)

// testPolicy is the design's critical ladder with seconds instead of minutes.
const testPolicy = `
rules:
  fall_hold_off: 2s
ladders:
  critical:
    steps:
      - {after: 0s, notify: [family, village_doctor, village_visitor], channels: [sms]}
      - {after: 4s, notify: [township_clinic], channels: [sms]}
    repeat: 0s
`

// alertEnv is an end-to-end setup for alerting: Mosquitto, InfluxDB, a fake Twilio
// behind the real twilio-go client, one registered home.
type alertEnv struct {
	*env
	twilio *twiliotest.API
	public string
	admin  string // API token of the county administrator
}

func newAlertEnv(t *testing.T) *alertEnv {
	t.Helper()
	return newAlertEnvOn(t, "")
}

// newAlertEnvOn is newAlertEnv with database.url set to databaseURL (empty: SQLite):
// the ledger and the administrator go into the database the gateway will use.
func newAlertEnvOn(t *testing.T, databaseURL string) *alertEnv {
	t.Helper()
	e := &alertEnv{env: newEnv(t, false), twilio: twiliotest.NewAPI(twilioSID, twilioToken)}
	e.cfg.Database.URL = databaseURL
	addr := testwait.FreeAddr(t)
	e.public = "http://" + addr
	e.cfg.HTTP.Addr = addr
	e.cfg.Twilio.AccountSID, e.cfg.Twilio.AuthToken, e.cfg.Twilio.From = twilioSID, twilioToken, twilioFrom
	e.cfg.Twilio.BaseURL = twiliotest.Serve(t, e.twilio)
	e.cfg.Twilio.PublicURL = e.public
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(testPolicy), &node); err != nil {
		t.Fatal(err)
	}
	e.cfg.Alerting = node
	e.importLedger(alertLedger)
	e.admin = e.countyAdmin("和静县")
	return e
}

// alertLedger is alertEnv's home: an SOS pendant and a fall sensor.
const alertLedger = "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,clinic_phone\n" +
	"和静县,巴伦台镇,巴伦台村,H-0002,测试老人乙,巴伦台村二组7号,42.74,86.29,hj-0002-sos,sos_pendant,测试探访员乙,13800000011,测试村医乙,13800000012,13900000013,13800000019\n" +
	"和静县,巴伦台镇,巴伦台村,H-0002,测试老人乙,巴伦台村二组7号,42.74,86.29,hj-0002-fall,fall_sensor,测试探访员乙,13800000011,测试村医乙,13800000012,13900000013,13800000019\n"

// responderID is the responder-app id the registry gives phone (the username its
// app would be provisioned with).
func (e *alertEnv) responderID(phone string) string {
	e.t.Helper()
	id, err := e.registry().ResponderID(context.Background(), phone)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// smsTo returns the texts the fake Twilio took for phone, in order.
func (e *alertEnv) smsTo(phone string) []string {
	var out []string
	for _, m := range e.twilio.Messages() {
		if m.To == phone {
			out = append(out, m.Body)
		}
	}
	return out
}

func (e *alertEnv) waitSMS(t *testing.T, phone string, n int, within time.Duration) []string {
	t.Helper()
	var got []string
	waitFor(t, within, fmt.Sprintf("%d SMS to %s", n, phone), func() (bool, string) {
		got = e.smsTo(phone)
		return len(got) >= n, fmt.Sprint(got)
	})
	return got
}

// deviceCmds subscribes as the device to its cmd topic and collects what arrives.
func deviceCmds(t *testing.T, url, device string) func() []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	c := publishClient(t, url, device+"-cmd")
	tok := c.Subscribe(protocol.DeviceTopic(device, protocol.KindCmd), 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		got = append(got, string(m.Payload()))
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

func TestSOSPagesEscalatesAndStopsOnSMSReply(t *testing.T) {
	e := newAlertEnv(t)
	r := e.start()
	cmds := deviceCmds(t, e.mq.URL, "hj-0002-sos")
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))

	page := e.waitSMS(t, doctorPhone, 1, 10*time.Second)[0]
	e.waitSMS(t, familyPhone, 1, 10*time.Second)
	e.waitSMS(t, visitPhone, 1, 10*time.Second)
	for _, want := range []string{"紧急呼叫", "巴伦台村", "测试老人乙"} {
		if !strings.Contains(page, want) {
			t.Errorf("page %q lacks %q", page, want)
		}
	}
	if strings.Contains(page, "1380000") || strings.Contains(page, "1390000") {
		t.Errorf("page %q carries a phone number", page)
	}
	if len(e.smsTo(clinicPhone)) != 0 {
		t.Fatal("the clinic was paged at once; the ladder pages it at 4 s")
	}
	e.waitSMS(t, clinicPhone, 1, 15*time.Second) // nobody acknowledged: the clinic step

	// A reply with a forged signature is refused.
	form := url.Values{"From": {doctorPhone}, "To": {twilioFrom}, "Body": {"1"}, "MessageSid": {"SMforged"}}
	req, _ := http.NewRequest(http.MethodPost, e.public+"/webhooks/twilio/sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, twilio.Sign(e.public+"/webhooks/twilio/sms", "not-the-token", form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged webhook answered %d, want 403", resp.StatusCode)
	}

	// The doctor replies "1": the ladder stops, the others are told, the pendant hears.
	if err := e.twilio.SendSMS(context.Background(), e.public+"/webhooks/twilio/sms", doctorPhone, twilioFrom, "1"); err != nil {
		t.Fatal(err)
	}
	for _, phone := range []string{familyPhone, visitPhone, clinicPhone} {
		taken := e.waitSMS(t, phone, 2, 10*time.Second)
		if !strings.Contains(taken[len(taken)-1], "接手") {
			t.Errorf("notice to %s = %q, want a 'taken by' notice", phone, taken[len(taken)-1])
		}
	}
	if n := len(e.smsTo(doctorPhone)); n != 1 {
		t.Errorf("the doctor got %d SMS, want only the page", n)
	}
	waitFor(t, 10*time.Second, "ack_feedback on the device's cmd topic", func() (bool, string) {
		got := cmds()
		return len(got) == 1 && strings.Contains(got[0], `"ack_feedback"`) && strings.Contains(got[0], `"village_doctor"`), fmt.Sprint(got)
	})
	waitFor(t, 20*time.Second, "alert changes in InfluxDB", func() (bool, string) {
		rows := e.influx.Query(t, `SELECT change, ack_seconds FROM alert WHERE kind = 'sos' AND home = 'H-0002'`)
		changes := ""
		for _, r := range rows {
			changes += fmt.Sprint(r[1]) + " "
		}
		return strings.Contains(changes, "raised") && strings.Contains(changes, "notified") &&
			strings.Contains(changes, "acknowledged"), changes
	})
	if n := metric(t, r.reg, "carebed_alerts_open", map[string]string{"township": "巴伦台镇", "severity": "critical"}); n != 1 {
		t.Errorf("carebed_alerts_open{township=巴伦台镇,severity=critical} = %v, want 1", n)
	}
	code, body := call(t, "GET", e.public+"/api/v1/alerts?open=true", e.admin, "")
	if code != 200 || !strings.Contains(body, `"state":"acknowledged"`) || !strings.Contains(body, `"ack_channel":"sms"`) {
		t.Errorf("alerts API: %d %s", code, body)
	}
}

func TestFallCancelledInsideHoldOffPagesNobody(t *testing.T) {
	e := newAlertEnv(t)
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-fall")
	now := time.Now().UnixMilli()
	publish(t, dev, "carebed/v1/hj-0002-fall/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: now, Type: protocol.EventFall}))
	publish(t, dev, "carebed/v1/hj-0002-fall/event", protocol.EncodeEvent(protocol.Event{Seq: 2, TS: now + 500, Type: protocol.EventFallCancel, Cancels: 1}))
	// Past the 2 s hold-off and then some: still nobody paged.
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if n := len(e.twilio.Messages()); n != 0 {
			t.Fatalf("%d SMS sent for a fall cancelled inside the hold-off", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	alerts, err := r.g.alerts.List(context.Background(), alerting.Filter{})
	if err != nil || len(alerts) != 1 || alerts[0].Outcome != "cancelled" {
		t.Fatalf("alerts %+v %v, want one cancelled", alerts, err)
	}
	// A fall nobody cancels pages after the hold-off.
	publish(t, dev, "carebed/v1/hj-0002-fall/event", protocol.EncodeEvent(protocol.Event{Seq: 3, TS: time.Now().UnixMilli(), Type: protocol.EventFall}))
	if len(e.twilio.Messages()) != 0 {
		t.Fatal("paged before the hold-off ended")
	}
	e.waitSMS(t, doctorPhone, 1, 10*time.Second)
}

func TestTwilioErrorsRetriedOrEscalatedAndAudited(t *testing.T) {
	e := newAlertEnv(t)
	e.start()
	// The first three SMS requests fail: 500 and 429 are retried, 400 (invalid
	// number) is not: that person's page fails and the next step comes forward.
	e.twilio.FailNext(http.StatusInternalServerError, 20500)
	e.twilio.FailNext(http.StatusTooManyRequests, 20429)
	e.twilio.FailNext(http.StatusBadRequest, 21211)
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	sent := time.Now()
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: sent.UnixMilli(), Type: protocol.EventSOS}))
	e.waitSMS(t, clinicPhone, 1, 10*time.Second)
	if since := time.Since(sent); since >= 4*time.Second {
		t.Errorf("the clinic was paged %s after the SOS; a failed page should bring its step (4 s) forward", since)
	}
	var detail struct {
		Notifications []struct {
			PersonID string
			Status   string
			Error    string
			Tries    int
		} `json:"notifications"`
		Audit []struct{ What string } `json:"audit"`
	}
	waitFor(t, 20*time.Second, "three pages settled", func() (bool, string) {
		code, body := call(t, "GET", e.public+"/api/v1/alerts/1", e.admin, "")
		if code != 200 {
			return false, body
		}
		if err := jsonUnmarshal(body, &detail); err != nil {
			return false, err.Error()
		}
		settled := 0
		for _, n := range detail.Notifications {
			if n.Status != "queued" {
				settled++
			}
		}
		return settled >= 4, body
	})
	failed, retried := 0, 0
	for _, n := range detail.Notifications {
		switch {
		case n.Status == "failed" && strings.Contains(n.Error, "400") && n.Tries == 1:
			failed++
		case n.Status == "sent" && n.Tries > 1:
			retried++
		}
	}
	if failed != 1 || retried != 2 {
		t.Errorf("notifications %+v: want one 400 not retried and two sent after a retry", detail.Notifications)
	}
	var whats []string
	for _, a := range detail.Audit {
		whats = append(whats, a.What)
	}
	if trail := strings.Join(whats, " "); !strings.Contains(trail, "notification_failed") || !strings.Contains(trail, "notification_sent") {
		t.Errorf("audit trail %q lacks the failed and sent notifications", trail)
	}
}

// TestVillagePowerCutIsOneAlert: 30 devices of one village lose power and their Last
// Wills arrive within a minute: one village outage alert, no alert per device.
//
// The device alerts held before the outage opened are folded into it: each grouping
// reaches InfluxDB's alert measurement and the console's live stream, and the
// console's open list no longer shows them.
func TestVillagePowerCutIsOneAlert(t *testing.T) {
	e := newEnv(t, false)
	devices := deviceIDs("bed", 30)
	e.registerVillages(devices, 30)
	duty := e.addUser(registry.User{Name: "duty-pc", Display: "值班", Role: auth.RoleCountyAdmin, County: "和静县"}, "")
	r := e.start()
	live := consoleEvents(t, r.g.HTTPAddr(), duty)
	c := publishClient(t, e.mq.URL, "power-cut")
	for _, d := range devices { // what the broker publishes for each vanished device
		publish(t, c, protocol.DeviceTopic(d, protocol.KindStatus), protocol.EncodeStatus(protocol.Status{Online: false}))
	}
	waitFor(t, 10*time.Second, "all 30 Last Wills taken in", func() (bool, string) {
		n := metric(t, r.reg, "carebed_ingest_messages_total", map[string]string{"kind": "status", "result": "stored"})
		return n == 30, fmt.Sprint(n)
	})
	waitFor(t, 10*time.Second, "the village outage alert", func() (bool, string) {
		all, err := r.g.alerts.List(context.Background(), alerting.Filter{OpenOnly: true})
		if err != nil {
			return false, err.Error()
		}
		kinds := map[string]int{}
		for _, a := range all {
			kinds[string(a.Kind)]++
		}
		return kinds["village_outage"] == 1 && kinds["device_offline"] == 0, fmt.Sprint(kinds)
	})
	// The 25 that joined it within a second are one repeat, written within a tick.
	waitFor(t, 3*rules.TickEvery, "the outage counting the 25 devices that joined it", func() (bool, string) {
		all, err := r.g.alerts.List(context.Background(), alerting.Filter{OpenOnly: true})
		if err != nil || len(all) != 1 {
			return false, fmt.Sprint(all, err)
		}
		return all[0].Repeats == 25, fmt.Sprint(all[0].Repeats)
	})
	all, err := r.g.alerts.List(context.Background(), alerting.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	paged := map[string]int{}
	for _, a := range all {
		atts, err := r.g.alerts.Attempts(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		paged[string(a.Kind)] += len(atts)
		if a.Kind == "village_outage" && a.Repeats != 25 {
			t.Errorf("the outage counted %d repeats, want 25 (30 devices, 5 to open it)", a.Repeats)
		}
		if a.Kind == "device_offline" && a.Outcome != "grouped" {
			t.Errorf("device alert %+v was not folded into the outage", a)
		}
	}
	if paged["device_offline"] != 0 {
		t.Errorf("notifications by alert kind: %v; want no device paged alone", paged)
	}
	var grouped []int64
	for _, a := range all {
		if a.Kind == "device_offline" {
			grouped = append(grouped, a.ID)
		}
	}
	if len(grouped) == 0 {
		t.Fatal("no device alert was held before the outage opened; nothing was grouped")
	}
	waitFor(t, 10*time.Second, "each grouped alert in InfluxDB's alert measurement", func() (bool, string) {
		n := e.influx.Count(t, `SELECT COUNT(id) FROM alert WHERE change = 'grouped' AND kind = 'device_offline'`)
		return n == int64(len(grouped)), fmt.Sprintf("%d of %d", n, len(grouped))
	})
	waitFor(t, 10*time.Second, "the console's live stream told of the held and the grouped change", func() (bool, string) {
		seen := live()
		for _, id := range grouped {
			if seen[id] < 2 {
				return false, fmt.Sprint(seen)
			}
		}
		return true, ""
	})
	_, open := call(t, "GET", "http://"+r.g.HTTPAddr()+"/console/fragment/open", duty, "")
	for _, id := range grouped {
		if strings.Contains(open, fmt.Sprintf(`data-id="%d"`, id)) {
			t.Errorf("the console's open list still shows grouped alert %d", id)
		}
	}
	// The outage itself is paged now, or at the end of quiet hours (it is high, not
	// critical): either way its ladder is running.
	for _, a := range all {
		if a.Kind != "village_outage" {
			continue
		}
		step, at, err := r.g.alerts.NextStep(context.Background(), a.ID)
		if err != nil || at.IsZero() && step == 0 {
			t.Errorf("the outage's ladder is not running: step %d at %v (%v)", step, at, err)
		}
	}
}

// TestResponderAppAcksAndResolvesOverMQTT: the village visitor's responder app takes
// the alert, the village doctor's closes it, over MQTT; someone not paged is
// refused, and so is the visitor closing it (visitors do not close alerts).
func TestResponderAppAcksAndResolvesOverMQTT(t *testing.T) {
	e := newAlertEnv(t)
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	e.waitSMS(t, visitPhone, 1, 10*time.Second)
	all, err := r.g.alerts.List(context.Background(), alerting.Filter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("alerts %+v %v", all, err)
	}
	code, id := all[0].Code, all[0].ID
	app := publishClient(t, e.mq.URL, "responder-app")
	ack := func(phone, body string) {
		publish(t, app, "carebed/v1/responders/"+e.responderID(phone)+"/ack", []byte(body))
	}
	ack(clinicPhone, `{"v":1,"alert":"`+code+`","action":"ack"}`) // not paged yet: refused
	ack(visitPhone, `{"v":1,"alert":"`+code+`","action":"ack"}`)
	waitFor(t, 10*time.Second, "acknowledged by the visitor over MQTT", func() (bool, string) {
		a, err := r.g.alerts.Alert(context.Background(), id)
		return err == nil && a.State == "acknowledged" && a.AckChannel == "mqtt" && a.AckedBy == "home/H-0002/0", fmt.Sprintf("%+v", a)
	})
	ack(visitPhone, `{"v":1,"alert":"`+code+`","action":"resolve","outcome":"handled_at_home","note":"老人摔倒未受伤"}`)
	waitFor(t, 10*time.Second, "the visitor's resolve refused", func() (bool, string) {
		n := metric(t, r.reg, "carebed_alert_actions_refused_total", map[string]string{"channel": "mqtt", "action": "resolve", "reason": "role"})
		return n == 1, fmt.Sprint(n)
	})
	if a, _ := r.g.alerts.Alert(context.Background(), id); a.State != "acknowledged" {
		t.Fatalf("after the visitor's resolve the alert is %s", a.State)
	}
	ack(doctorPhone, `{"v":1,"alert":"`+code+`","action":"resolve","outcome":"handled_at_home","note":"老人摔倒未受伤"}`)
	waitFor(t, 10*time.Second, "resolved over MQTT", func() (bool, string) {
		a, err := r.g.alerts.Alert(context.Background(), id)
		return err == nil && a.State == "resolved" && a.Outcome == "handled_at_home", fmt.Sprintf("%+v", a)
	})
	trail, err := r.g.alerts.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, row := range trail {
		whats = append(whats, row.What+"/"+row.Channel)
	}
	if s := strings.Join(whats, " "); !strings.Contains(s, "ack_refused/mqtt") || !strings.Contains(s, "acknowledged/mqtt") || !strings.Contains(s, "resolved/mqtt") {
		t.Errorf("audit %q lacks the refused ack, the ack and the resolve over MQTT", s)
	}
}

// TestFamilyCannotCloseAlertOverMQTT: a family member's responder app sends
// resolve (false_alarm) for a critical alert it was paged about: refused, audited
// and counted; the alert stays open and its ladder goes on to the clinic.
func TestFamilyCannotCloseAlertOverMQTT(t *testing.T) {
	e := newAlertEnv(t)
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	e.waitSMS(t, familyPhone, 1, 10*time.Second)
	all, err := r.g.alerts.List(context.Background(), alerting.Filter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("alerts %+v %v", all, err)
	}
	code, id := all[0].Code, all[0].ID
	app := publishClient(t, e.mq.URL, "family-app")
	publish(t, app, "carebed/v1/responders/"+e.responderID(familyPhone)+"/ack",
		[]byte(`{"v":1,"alert":"`+code+`","action":"resolve","outcome":"false_alarm"}`))
	waitFor(t, 10*time.Second, "the family's resolve refused", func() (bool, string) {
		n := metric(t, r.reg, "carebed_alert_actions_refused_total", map[string]string{"channel": "mqtt", "action": "resolve", "reason": "role"})
		return n == 1, fmt.Sprint(n)
	})
	e.waitSMS(t, clinicPhone, 1, 15*time.Second) // the ladder goes on: the clinic step
	a, err := r.g.alerts.Alert(context.Background(), id)
	if err != nil || a.State != "notified" || a.Outcome != "" {
		t.Fatalf("alert after the family's resolve: %+v %v", a, err)
	}
	trail, err := r.g.alerts.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, row := range trail {
		refused = refused || (row.What == "ack_refused" && row.Channel == "mqtt" && row.Actor == "home/H-0002/2" &&
			strings.Contains(row.Detail, "family may acknowledge alerts but not close them"))
	}
	if !refused {
		t.Errorf("audit %+v lacks the family's refused resolve", trail)
	}
}

// TestConsoleWarnsWhileSMSFail: when Twilio refuses the gateway (here its
// credentials, 401), the duty console says on every page that SMS are failing, so
// the duty staff phone people themselves; the next SMS that goes out clears it.
func TestConsoleWarnsWhileSMSFail(t *testing.T) {
	e := newAlertEnv(t)
	e.importLedger("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,clinic_phone\n" +
		"和静县,巴伦台镇,巴伦台村,H-0003,测试老人丙,巴伦台村三组2号,42.74,86.29,hj-0003-sos,sos_pendant,测试探访员乙,13800000011,测试村医乙,13800000012,13900000033,13800000019\n")
	e.start()
	for range 4 { // the three people of step 0 and the clinic brought forward
		e.twilio.FailNext(http.StatusUnauthorized, 20003)
	}
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	const warning = "短信发送失败"
	waitFor(t, 20*time.Second, "the console's warning", func() (bool, string) {
		code, body := call(t, "GET", e.public+"/console/", e.admin, "")
		return code == 200 && strings.Contains(body, warning), fmt.Sprint(code)
	})
	other := publishClient(t, e.mq.URL, "hj-0003-sos")
	publish(t, other, "carebed/v1/hj-0003-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	e.waitSMS(t, "+8613900000033", 1, 20*time.Second)
	waitFor(t, 20*time.Second, "the warning gone once an SMS went out", func() (bool, string) {
		code, body := call(t, "GET", e.public+"/console/", e.admin, "")
		return code == 200 && !strings.Contains(body, warning), fmt.Sprint(code)
	})
}

// TestConsoleWarnsWhenAStepPagedNobody: a township whose clinic duty phone is not in
// the registry; the SOS ladder's clinic step finds nobody, the people of the step
// before are paged again, and every console page of the area says so until the
// alert is closed.
func TestConsoleWarnsWhenAStepPagedNobody(t *testing.T) {
	e := newAlertEnv(t)
	e.importLedger("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,clinic_phone\n" +
		"和静县,乌拉斯台镇,乌拉斯台村,H-0004,测试老人丁,乌拉斯台村一组1号,42.74,86.29,hj-0004-sos,sos_pendant,测试探访员丁,13800000041,测试村医丁,13800000042,13900000043,\n")
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0004-sos")
	publish(t, dev, "carebed/v1/hj-0004-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	const warning = "有一级通知找不到人"
	e.waitSMS(t, "+8613800000042", 2, 30*time.Second) // the doctor, at step 0 and again for the clinic step
	a, err := r.g.alerts.OpenAlert(context.Background(), "H-0004", alerting.KindSOS)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the console's warning naming the alert", func() (bool, string) {
		code, body := call(t, "GET", e.public+"/console/", e.admin, "")
		return code == 200 && strings.Contains(body, warning) && strings.Contains(body, a.Code), fmt.Sprint(code)
	})
	if code, _ := call(t, "POST", e.public+"/api/v1/alerts/"+strconv.FormatInt(a.ID, 10)+"/resolve", e.admin,
		`{"outcome":"handled_at_home"}`); code != http.StatusOK {
		t.Fatalf("resolve: %d", code)
	}
	if code, body := call(t, "GET", e.public+"/console/", e.admin, ""); code != 200 || strings.Contains(body, warning) {
		t.Errorf("the warning stays after the alert was closed (%d)", code)
	}
}

// consoleEvents follows the console's live stream as a signed-in user and returns a
// function counting the change events heard, by alert id.
func consoleEvents(t *testing.T, addr, token string) func() map[int64]int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/console/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("console events: %s", resp.Status)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				n, _ := strconv.ParseInt(id, 10, 64)
				mu.Lock()
				seen[n]++
				mu.Unlock()
			}
		}
	}()
	return func() map[int64]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(seen)
	}
}
