package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"carebed/gateway/auth"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/testlog"
)

// TestNoPersonalDataLeavesTheRegistry runs alerts end to end (an SOS paged by SMS and
// acknowledged by reply, a fall acknowledged and closed by a signed-in doctor, a
// refused sign-in, hostile messages) with the log at debug level, then looks for
// every name, address and phone number the registry holds in the log, the metrics,
// everything in InfluxDB and the dead-letter file. None may be there: those carry ids.
func TestNoPersonalDataLeavesTheRegistry(t *testing.T) {
	e := newAlertEnv(t)
	logs := &testlog.Buffer{}
	e.logTo = logs
	doctor := registry.User{Name: "doctor-blt", Display: "测试村医乙", Role: auth.RoleVillageDoctor, County: "和静县",
		Township: "巴伦台镇", Village: "巴伦台村", Phone: "13800000012"}
	token := e.addUser(doctor, "doctor password 1")
	e.addUser(registry.User{Name: "duty-blt", Display: "测试值班员丙", Role: auth.RoleTownshipDuty, County: "和静县",
		Township: "巴伦台镇", Phone: "13800000077"}, "duty password 1")
	r := e.start()

	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	// The SOS carries a position (personal data too: issue 17), as do a rejected
	// message and an alarm accepted with a warning, both dead-lettered.
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS,
		Fix: &protocol.Fix{Lat: 43.123457, Lon: 84.654321, AccM: 12}})) // positionLat, positionLon
	publish(t, dev, "carebed/v1/hj-0002-sos/event", []byte(`{"v":1,"seq":2,"type":"tamper","floor":1,"lat":`+positionLat+`,"lon":`+positionLon+`,"acc_m":12}`))
	publish(t, dev, "carebed/v1/hj-0002-sos/event", []byte(`{"v":1,"seq":3,"type":"fall","floor":1,"lat":`+positionLat+`,"lon":`+positionLon+`,"acc_m":12}`))
	e.waitSMS(t, doctorPhone, 1, 10*time.Second)
	if err := e.twilio.SendSMS(context.Background(), e.public+"/webhooks/twilio/sms", doctorPhone, twilioFrom, "1"); err != nil {
		t.Fatal(err)
	}
	e.waitSMS(t, familyPhone, 2, 10*time.Second) // the 'taken by' notice

	fall := publishClient(t, e.mq.URL, "hj-0002-fall")
	publish(t, fall, "carebed/v1/hj-0002-fall/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(),
		Type: protocol.EventFall, Confidence: f64(0.95)}))
	var fallID string
	waitFor(t, 20*time.Second, "the fall paged", func() (bool, string) {
		code, body := call(t, "GET", e.public+"/api/v1/alerts?open=true", token, "")
		if i := strings.Index(body, `"kind":"fall"`); code == 200 && i > 0 {
			fallID = body[strings.LastIndex(body[:i], `"id":`)+5 : strings.LastIndex(body[:i], `,"code"`)]
		}
		return fallID != "" && len(e.smsTo(doctorPhone)) >= 2, body
	})
	for _, action := range []struct{ path, body string }{{"ack", ""}, {"resolve", `{"outcome":"handled_at_home","note":"已到场"}`}} {
		if code, body := call(t, "POST", e.public+"/api/v1/alerts/"+fallID+"/"+action.path, token, action.body); code != 200 {
			t.Fatalf("%s: %d %s", action.path, code, body)
		}
	}
	if code, _ := call(t, "POST", e.public+"/api/v1/login", "", `{"name":"duty-blt","password":"wrong"}`); code != 401 {
		t.Errorf("wrong sign-in answered %d", code)
	}
	ghost := publishClient(t, e.mq.URL, "ghost-0001")
	publish(t, ghost, "carebed/v1/ghost-0001/event", []byte(`{"v":1,"seq":1,"type":"sos"}`))
	publish(t, dev, "carebed/v1/hj-0002-sos/event", []byte(`{"v":1,`))
	waitFor(t, 20*time.Second, "the alert changes in InfluxDB", func() (bool, string) {
		n := e.influx.Count(t, `SELECT COUNT(id) FROM alert WHERE change = 'resolved'`)
		return n >= 1, fmt.Sprint("resolved points: ", n)
	})
	metrics := gatherText(t, r)
	r.stop()

	sources := map[string]string{
		"log":          logs.String(),
		"metrics":      metrics,
		"InfluxDB":     influxDump(t, e.influx.URL),
		"dead letters": readFile(t, e.cfg.DeadLetterPath()),
	}
	if !strings.Contains(sources["dead letters"], "ghost-0001") || !strings.Contains(sources["InfluxDB"], "hj-0002-sos") {
		t.Fatal("the run left too little to scan: no dead letter or no InfluxDB data")
	}
	secrets := append(personalData(t, e.cfg.Registry.Path), positionLat, positionLon)
	if !strings.Contains(sources["dead letters"], "floor") {
		t.Fatal("the dead-letter log lacks the messages with positions it was meant to hold")
	}
	for where, text := range sources {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("the %s holds personal data %q", where, s)
			}
		}
	}
	t.Logf("scanned for %d names, addresses and phone numbers: log %d bytes, metrics %d, InfluxDB %d, dead letters %d",
		len(secrets), len(sources["log"]), len(sources["metrics"]), len(sources["InfluxDB"]), len(sources["dead letters"]))
}

// positionLat and positionLon are the position the privacy test's SOS carries: it
// belongs in InfluxDB's positions retention policy only (influxDump reads the
// readings' policy), never in the log, the metrics or the dead-letter log.
const positionLat, positionLon = "43.123457", "84.654321"

// personalData lists every name, address and phone number in the registry: elders,
// contacts, clinics, users; phones as stored (+86...) and as dialled (138...).
func personalData(t *testing.T, regPath string) []string {
	t.Helper()
	reg := openRegistry(t, regPath)
	ctx := context.Background()
	var out []string
	phone := func(p string) {
		if p != "" {
			out = append(out, p, strings.TrimPrefix(p, "+86"))
		}
	}
	cs, err := reg.AllContacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	homes := map[string]bool{}
	for _, c := range cs {
		out = append(out, c.Name)
		phone(c.Phone)
		homes[c.Home] = true
	}
	for h := range homes {
		hc, err := reg.HomeContacts(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		elder, err := reg.Elder(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, elder)
		for _, p := range hc {
			phone(p.Phone)
		}
	}
	ts, err := reg.ClinicTownships(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tw := range ts {
		phone(tw.ClinicPhone)
	}
	users, err := reg.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		out = append(out, u.Display)
		phone(u.Phone)
	}
	out = append(out, "巴伦台村二组7号") // the ledger's address of H-0002
	return out
}

func gatherText(t *testing.T, r *running) string {
	t.Helper()
	fams, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range fams {
		b.WriteString(f.String())
	}
	return b.String()
}

// influxDump returns every point of every measurement, tags and fields, as JSON.
func influxDump(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/query", url.Values{"db": {"carebed"}, "q": {`SELECT * FROM /.*/`}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
