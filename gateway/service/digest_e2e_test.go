package service

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"carebed/alerting/policy"
	"carebed/gateway/protocol"
	"carebed/internal/testlog"
)

// digestLedger gives home H-0002 of newAlertEnv a bed sensor and three family phones.
const digestLedger = "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话\n" +
	"和静县,巴伦台镇,巴伦台村,H-0002,测试老人乙,巴伦台村二组7号,42.74,86.29,hj-0002-bed,床垫传感器,测试探访员乙,13800000011,测试村医乙,13800000012,13900000013；13900000014；13900000015,13800000019\n"

const (
	familyOut   = "+8613900000014" // subscribes, then unsubscribes
	familyNever = "+8613900000015" // never subscribes
)

// TestFamilyDigestEndToEnd runs the weekly digest through the real gateway: a bed
// sensor's week of nights published over MQTT into InfluxDB, a card-tap visit, a family
// phone subscribing by signed SMS (订阅), one unsubscribing (退订) and one never asking;
// at the configured time (the gateway's clock moved past it) the fake Twilio gets the
// digest for the subscribed phone only, once.
func TestFamilyDigestEndToEnd(t *testing.T) {
	e := newAlertEnv(t)
	var offset atomic.Int64
	e.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	bj := policy.Default().Location()
	start := time.Now().In(bj)
	due := start.Add(10 * time.Minute).Truncate(time.Minute)
	quiet := start.Add(3 * time.Hour) // quiet hours far from the test's clock
	var node yaml.Node
	doc := testPolicy + fmt.Sprintf("quiet_hours: {start: %q, end: %q}\n", quiet.Format("15:04"), quiet.Add(time.Hour).Format("15:04"))
	if err := yaml.Unmarshal([]byte(doc), &node); err != nil {
		t.Fatal(err)
	}
	e.cfg.Alerting = node
	e.cfg.Digest.Weekday = strings.ToLower(due.Weekday().String())
	e.cfg.Digest.At = due.Format("15:04")
	e.importLedger(digestLedger)
	logs := &testlog.Buffer{}
	e.logTo = logs
	r := e.start()

	// The week before the digest's day: nights in bed 22:00–07:10, a reading every 10
	// minutes, two bed exits at 02:10 (back in 8 minutes), a visitor's card tap.
	y, m, d := due.Date()
	day := func(back int, h, min int) time.Time { return time.Date(y, m, d-back, h, min, 0, 0, bj) }
	dev := publishClient(t, e.mq.URL, "hj-0002-bed")
	seq := uint64(0)
	var batch []protocol.Reading
	flush := func() {
		if len(batch) > 0 {
			publish(t, dev, "carebed/v1/hj-0002-bed/telemetry", protocol.EncodeBatch(batch))
			batch = nil
		}
	}
	for ts := day(8, 20, 0); ts.Before(day(1, 10, 0)); ts = ts.Add(10 * time.Minute) {
		c := ts.In(bj)
		mins := c.Hour()*60 + c.Minute()
		occ := mins >= 22*60 || mins < 7*60+10
		seq++
		batch = append(batch, protocol.Reading{Seq: seq, TS: ts.UnixMilli(), Occupied: &occ})
		if len(batch) == 150 {
			flush()
		}
	}
	flush()
	event := func(at time.Time, typ protocol.EventType) {
		seq++
		publish(t, dev, "carebed/v1/hj-0002-bed/event", protocol.EncodeEvent(protocol.Event{Seq: seq, TS: at.UnixMilli(), Type: typ}))
	}
	for _, back := range []int{5, 3} {
		event(day(back, 2, 10), protocol.EventBedExit)
		event(day(back, 2, 18), protocol.EventBedReturn)
	}
	event(day(4, 10, 0), protocol.EventVisit)
	waitFor(t, 30*time.Second, "the week's readings and events in InfluxDB", func() (bool, string) {
		n := e.influx.Count(t, `SELECT COUNT(occupied) FROM telemetry WHERE home = 'H-0002'`)
		ev := e.influx.Count(t, `SELECT COUNT(seq) FROM event WHERE home = 'H-0002'`)
		return n == int64(seq)-5 && ev == 5, fmt.Sprint(n, ev)
	})

	for _, tt := range []struct{ from, body, reply string }{
		{familyPhone, "订阅", "已订阅每周简报"},
		{familyOut, "订阅", "已订阅每周简报"},
		{familyOut, "TD", "已退订每周简报"},
	} {
		if code, body := e.postSMS(t, "", tt.from, tt.body); code != 200 || !strings.Contains(body, "<Message>"+tt.reply) {
			t.Fatalf("%s %q: %d %s", tt.from, tt.body, code, body)
		}
	}
	if n := len(e.smsTo(familyPhone)); n != 0 {
		t.Fatalf("%d SMS before the digest's time", n)
	}

	offset.Store(int64(11 * time.Minute)) // past the digest's time
	want := fmt.Sprintf("【巴州家庭养老床位】测试老人乙本周：夜里平均睡9小时，一般7点10分起床，夜间离床2次；探访员%d日来过；无警报。退订回TD", day(4, 0, 0).Day())
	if got := e.waitSMS(t, familyPhone, 1, 30*time.Second); got[0] != want {
		t.Errorf("digest:\n got %s\nwant %s", got[0], want)
	}
	// The run that sent it has looked at every family phone; the next ones send nothing.
	waitFor(t, 15*time.Second, "the run logged", func() (bool, string) {
		return logs.Count("family digests sent") == 1, ""
	})
	if n := metric(t, r.reg, "carebed_digest_sms_total", map[string]string{"result": "sent"}); n != 1 {
		t.Errorf("carebed_digest_sms_total{result=sent} = %v, want 1", n)
	}
	if n := metric(t, r.reg, "carebed_digest_subscriptions_total", map[string]string{"action": "unsubscribe"}); n != 1 {
		t.Errorf("carebed_digest_subscriptions_total{action=unsubscribe} = %v, want 1", n)
	}
	for _, p := range []string{familyOut, familyNever} {
		if got := e.smsTo(p); len(got) != 0 {
			t.Errorf("SMS to %s, which did not subscribe: %q", p, got)
		}
	}
	for _, private := range []string{"13900000013", "13900000014", "测试老人乙", "睡9小时"} {
		if logs.Count(private) > 0 {
			t.Errorf("the log holds %q", private)
		}
	}
}
