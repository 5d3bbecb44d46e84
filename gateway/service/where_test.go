package service

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/gateway/auth"
	"carebed/gateway/registry"
)

// TestSOSAwayFromHomeSaysWhere: a herder's pendant 23 km from its home village sends
// an SOS with its fix; the responders' pages say how far and in which direction from
// the village, with a map link (GCJ-02, gateway/geo), and the family's text does not
// (it asks nothing of them). A fix at home adds nothing (gateway/position TestWhere).
// Handed over to the village doctor, the one-tap page shows the same, with the map.
func TestSOSAwayFromHomeSaysWhere(t *testing.T) {
	e := newAlertEnv(t)
	e.cfg.HTTP.PublicURL = e.public // one-tap links
	e.addUser(registry.User{Name: "doc-where", Display: "测试村医乙", Role: auth.RoleVillageDoctor,
		County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Phone: doctorPhone}, "")
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	now := time.Now().UnixMilli()
	publish(t, dev, "carebed/v1/hj-0002-sos/event", fmt.Appendf(nil,
		`{"v":1,"seq":1,"ts":%d,"type":"sos","lat":42.89,"lon":86.09,"acc_m":15,"fix_ts":%d}`, now, now-60_000))
	doctor := e.waitSMS(t, doctorPhone, 1, 20*time.Second)[0]
	for _, want := range []string{"距巴伦台村 23 公里 西北", "https://uri.amap.com/marker?position=86.", "回复1"} {
		if !strings.Contains(doctor, want) {
			t.Errorf("the doctor's page %q lacks %q", doctor, want)
		}
	}
	if family := e.waitSMS(t, familyPhone, 1, 20*time.Second)[0]; strings.Contains(family, "uri.amap.com") {
		t.Errorf("the family's text %q carries the map link; it asks nothing of them", family)
	}

	a, err := r.g.alerts.OpenAlert(context.Background(), "H-0002", alerting.KindSOS)
	if err != nil {
		t.Fatal(err)
	}
	id := e.public + "/api/v1/alerts/" + strconv.FormatInt(a.ID, 10)
	if code, body := call(t, "POST", id+"/ack", e.admin, ""); code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, body)
	}
	before := len(e.smsTo(doctorPhone))
	if code, body := call(t, "POST", id+"/handover", e.admin, `{"to":"doc-where"}`); code != http.StatusOK {
		t.Fatalf("hand-over: %d %s", code, body)
	}
	linkRE := regexp.MustCompile(`http://[^ ，。]+/a/[A-Za-z0-9_-]{16}`)
	var link string
	waitFor(t, 20*time.Second, "the hand-over SMS with its link", func() (bool, string) {
		if sms := e.smsTo(doctorPhone); len(sms) > before {
			link = linkRE.FindString(sms[len(sms)-1])
		}
		return link != "", fmt.Sprint(e.smsTo(doctorPhone))
	})
	code, page := call(t, "GET", link, "", "")
	for _, want := range []string{`id="link-away"`, "距巴伦台村 23 公里 西北", `href="https://uri.amap.com/marker?position=86.`} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("the one-tap page (%d) lacks %q", code, want)
		}
	}
}
