package service

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSOSAwayFromHomeSaysWhere: a herder's pendant 23 km from its home village sends
// an SOS with its fix; the responders' pages say how far and in which direction from
// the village, with a map link (GCJ-02, gateway/geo), and the family's text does not
// (it asks nothing of them). A fix at home adds nothing (gateway/position TestWhere).
func TestSOSAwayFromHomeSaysWhere(t *testing.T) {
	e := newAlertEnv(t)
	e.start()
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
}
