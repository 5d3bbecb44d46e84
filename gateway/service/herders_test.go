package service

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"carebed/alerting"
	"carebed/gateway/deadletter"
	"carebed/gateway/protocol"
	"carebed/internal/devsvc"
	"carebed/internal/testlog"
	"carebed/internal/testwait"
)

// An SOS from firmware that added a field the gateway does not know (issue 17, item
// 8) still pages the home's ladder; the field is counted and the message kept in the
// dead-letter log as a warning, not a rejection.
func TestSOSWithUnknownFieldPages(t *testing.T) {
	e := newAlertEnv(t)
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/event",
		[]byte(`{"v":1,"seq":1,"ts":`+strconv.FormatInt(time.Now().UnixMilli(), 10)+`,"type":"sos","floor":2}`))

	page := e.waitSMS(t, doctorPhone, 1, 15*time.Second)[0]
	e.waitSMS(t, familyPhone, 1, 10*time.Second)
	if !strings.Contains(page, "紧急呼叫") || !strings.Contains(page, "测试老人乙") {
		t.Errorf("page %q is not the SOS page", page)
	}
	if n := metric(t, r.reg, "carebed_ingest_unknown_fields_total", map[string]string{"field": "floor"}); n != 1 {
		t.Errorf("carebed_ingest_unknown_fields_total{field=floor} = %v, want 1", n)
	}
	if n := metric(t, r.reg, "carebed_ingest_rejects_total", map[string]string{"reason": "unknown_field"}); n != 0 {
		t.Errorf("carebed_ingest_rejects_total{reason=unknown_field} = %v, want 0", n)
	}
	var entries []deadletter.Entry
	waitFor(t, 10*time.Second, "a warning in the dead-letter log", func() (bool, string) {
		entries = readDeadLetters(t, e.cfg.DeadLetterPath())
		return len(entries) == 1, strings.Repeat("entry ", len(entries))
	})
	if w := entries[0]; w.Level != deadletter.LevelWarning || w.Reason != "unknown_field" || !strings.Contains(w.Error, "floor") {
		t.Errorf("dead-letter entry %+v, want an unknown_field warning naming floor", w)
	}
}

// readDeadLetters returns the entries of the dead-letter log at path (none while it
// does not exist).
func readDeadLetters(t *testing.T, path string) []deadletter.Entry {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []deadletter.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e deadletter.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// An SOS with a position (issue 17, item 1) pages as before; the position lands in
// InfluxDB's position measurement under its own retention policy (30 days, created
// by the gateway), never in the readings' policy and never in the log, and the
// gateway keeps it as the device's last known position across a restart.
func TestSOSPositionStoredApartAndRemembered(t *testing.T) {
	e := newAlertEnv(t)
	logs := &testlog.Buffer{}
	e.logTo = logs
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	now := time.Now().UnixMilli()
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: now, Type: protocol.EventSOS,
		Fix: &protocol.Fix{Lat: 43.123457, Lon: 84.654321, AccM: 15, TS: now - 60_000}}))
	e.waitSMS(t, doctorPhone, 1, 15*time.Second)

	waitFor(t, 20*time.Second, "the position in InfluxDB", func() (bool, string) {
		rows := e.influx.Query(t, `SELECT lat, lon, acc_m, device FROM "positions"."position"`)
		return len(rows) == 1 && fmt.Sprint(rows[0][1:]) == "[43.123457 84.654321 15 hj-0002-sos]", fmt.Sprint(rows)
	})
	if rows := e.influx.Query(t, `SELECT lat FROM "autogen"."position"`); len(rows) != 0 {
		t.Errorf("positions in the readings' retention policy: %v", rows)
	}
	rps := fmt.Sprint(e.influx.Query(t, `SHOW RETENTION POLICIES`))
	if !strings.Contains(rps, "positions 720h0m0s") {
		t.Errorf("retention policies %s: want positions 720h0m0s", rps)
	}
	if p, ok := r.g.positions.Last("hj-0002-sos"); !ok || p.Lat != 43.123457 || p.At.UnixMilli() != now-60_000 {
		t.Errorf("last known position %+v %v", p, ok)
	}
	r.stop()
	ps, err := openRegistry(t, e.cfg.Registry.Path).Positions(context.Background())
	if err != nil || ps["hj-0002-sos"].Lon != 84.654321 {
		t.Errorf("saved positions %+v %v", ps, err)
	}
	for _, s := range []string{"43.12", "84.65"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds a position (%s)", s)
		}
	}
}

// A herder's home (ledger column 游牧) keeps quiet through coverage gaps: its devices
// are offline only after registry.mobile_offline_heartbeats heartbeats, while a
// settled home's device is offline after the policy's three (issue 17, item 5).
func TestMobileHomeOfflineLater(t *testing.T) {
	e := newEnv(t, false)
	e.importLedger("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
		"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,游牧\n" +
		"和静县,巴音布鲁克镇,巴西里克村,H-0101,测试牧民甲,夏牧场,42.89,84.15,hb-0101-sos,sos_pendant,,,,,,是\n" +
		"和静县,巴音布鲁克镇,巴音郭楞村,H-0102,测试老人丁,村东1号,42.90,84.20,hb-0102-sos,sos_pendant,,,,,,否\n")
	r := e.start()
	for _, id := range []string{"hb-0101-sos", "hb-0102-sos"} {
		c := publishClient(t, e.mq.URL, id)
		publish(t, c, "carebed/v1/"+id+"/status", protocol.EncodeStatus(protocol.Status{Online: true, HeartbeatS: 10, Seq: 1}))
	}
	offline := func(device string) bool {
		as, err := r.g.alerts.List(context.Background(), alerting.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Kind == alerting.KindDeviceOffline && a.Device == device {
				return true
			}
		}
		return false
	}
	waitFor(t, 60*time.Second, "the settled home's pendant offline after 3 × 10 s", func() (bool, string) {
		return offline("hb-0102-sos"), ""
	})
	if offline("hb-0101-sos") {
		t.Error("the herder's pendant is offline after 30 s of silence; want 48 heartbeats")
	}
}

// InfluxDB 1.8 answers a write to a missing retention policy with 500: the positions
// are dropped (and the policy created again) rather than retried forever, which
// would hold up every reading behind them; a server that is down is retried.
func TestPositionsRefusedByRealInflux(t *testing.T) {
	inf := devsvc.StartInflux(t)
	client := influxdb2.NewClient(inf.URL, "")
	defer client.Close()
	err := client.WriteAPIBlocking("", inf.DB+"/nowhere").WriteRecord(context.Background(), "position,device=a lat=1.0 1")
	if drop, missing := positionsRefused(err); !drop || !missing {
		t.Errorf("write to a missing retention policy (%v): drop %v, missing %v; want both", err, drop, missing)
	}
	down := influxdb2.NewClient("http://"+testwait.FreeAddr(t), "")
	defer down.Close()
	err = down.WriteAPIBlocking("", inf.DB+"/autogen").WriteRecord(context.Background(), "position,device=a lat=1.0 1")
	if drop, _ := positionsRefused(err); err == nil || drop {
		t.Errorf("write to a server that is down (%v): drop %v; want a retry", err, drop)
	}
}

// An SOS from a herder's pendant 180 km from her village (issue 17, item 3) also pages,
// in the first step, the two responders nearest to where she is (the doctor and the
// visitor of 巴西里克村, 10 km away), telling them how far and which way; the home's
// own people get their usual pages; a nearby doctor's "1" takes the alert.
func TestSOSFarFromHomePagesNearestResponders(t *testing.T) {
	e := newAlertEnv(t)
	e.importLedger("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,clinic_phone\n" +
		"和静县,巴音布鲁克镇,巴西里克村,H-0101,测试牧民甲,巴西里克村一组,42.95,84.20,hb-0101-bed,bed_sensor,测试探访员丙,13800000042,测试村医丙,13800000041,13900000043,13800000049\n")
	r := e.start()
	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	now := time.Now().UnixMilli()
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: now, Type: protocol.EventSOS,
		Fix: &protocol.Fix{Lat: 42.90, Lon: 84.10, AccM: 15, TS: now - 60_000}}))

	far := e.waitSMS(t, "+8613800000041", 1, 15*time.Second)[0]
	if !strings.Contains(far, "巴伦台村测试老人乙在外，距您9.9 公里 西南") || !strings.Contains(far, "uri.amap.com") {
		t.Errorf("nearby doctor's page %q: want the distance from him and the map link", far)
	}
	e.waitSMS(t, "+8613800000042", 1, 10*time.Second)
	own := e.waitSMS(t, doctorPhone, 1, 10*time.Second)[0]
	if strings.Contains(own, "距您") || !strings.Contains(own, "距巴伦台村") {
		t.Errorf("home doctor's page %q: want the usual page with the distance from the village", own)
	}
	if got := e.smsTo("+8613900000043"); len(got) != 0 {
		t.Errorf("the other home's family was paged: %q", got)
	}
	if status, answer := e.postSMS(t, "", "+8613800000041", "1"); status != 200 || !strings.Contains(answer, "已确认") {
		t.Errorf("nearby doctor's reply answered %d %q, want an acknowledgement", status, answer)
	}
	alerts, err := r.g.alerts.List(context.Background(), alerting.Filter{})
	if err != nil || len(alerts) != 1 || alerts[0].State != alerting.StateAcknowledged {
		t.Errorf("alerts %+v %v, want the SOS acknowledged", alerts, err)
	}
}
