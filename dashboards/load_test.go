package dashboards_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
	"carebed/gateway/registry"
	"carebed/internal/testwait"
)

// simHome is one simulated home: two devices, an SOS pendant and a bed sensor;
// a mobile home's pendant (a herder's, with GPS) sends its position from pasture.
type simHome struct {
	township, village, id string
	lat, lon              float64
	pasture               *[2]float64
}

// The simulated homes: two townships of 和静县; 古尔温村 has the six devices that
// make a village outage.
var simHomes = []simHome{
	{"巴伦台镇", "巴伦台村", "H-0001", 42.74, 86.29, nil},
	{"巴伦台镇", "巴伦台村", "H-0002", 42.75, 86.31, &[2]float64{43.1234, 86.0512}},
	{"巴伦台镇", "古尔温村", "H-0003", 42.81, 86.42, nil},
	{"巴伦台镇", "古尔温村", "H-0004", 42.82, 86.43, nil},
	{"巴伦台镇", "古尔温村", "H-0005", 42.83, 86.44, nil},
	{"乃门莫敦镇", "包尔布呼村", "H-0006", 42.21, 86.12, &[2]float64{42.8765, 85.6789}},
	{"乃门莫敦镇", "包尔布呼村", "H-0007", 42.22, 86.13, nil},
}

const county = "和静县"

// Phones of the simulated ledger, as the gateway sends to them (E.164).
const (
	visitorPhone = "+8613800000011"
	doctorPhone  = "+8613800000012"
	familyPhone  = "+8613900000013"
)

func sos(h string) string { return strings.ToLower(h) + "-sos" }
func bed(h string) string { return strings.ToLower(h) + "-bed" }

// importLedger imports the simulated homes into the gateway's registry.
func importLedger(t *testing.T, path string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
		"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,clinic_phone,照护类别,流动\n")
	for _, h := range simHomes {
		mobile := map[bool]string{true: "是"}[h.pasture != nil]
		for _, d := range [][2]string{{sos(h.id), "sos_pendant"}, {bed(h.id), "bed_sensor"}} {
			// 失能: visited weekly, a doctor's round monthly (the 探访巡诊 panel)
			fmt.Fprintf(&b, "%s,%s,%s,%s,测试老人,%s一组,%.2f,%.2f,%s,%s,探访员,13800000011,村医,13800000012,13900000013,13800000019,失能,%s\n",
				county, h.township, h.village, h.id, h.village, h.lat, h.lon, d[0], d[1], mobile)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.Import(context.Background(), strings.NewReader(b.String()), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

// publish sends one message of a device, QoS 1.
func (s *stack) publish(t *testing.T, device string, kind protocol.Kind, payload []byte) {
	t.Helper()
	tok := s.pub.Publish(protocol.DeviceTopic(device, kind), 1, kind == protocol.KindStatus, payload)
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s %s: %v", device, kind, tok.Error())
	}
}

// next is the device's next seq.
func (s *stack) next(device string) uint64 {
	s.seq[device]++
	return s.seq[device]
}

func (s *stack) status(t *testing.T, device string, online bool, fw string) {
	t.Helper()
	st := protocol.Status{Seq: s.next(device), TS: time.Now().UnixMilli(), Online: online, FW: fw}
	if online {
		st.HeartbeatS = 60
	}
	s.publish(t, device, protocol.KindStatus, protocol.EncodeStatus(st))
}

func (s *stack) event(t *testing.T, device string, typ protocol.EventType) {
	t.Helper()
	e := protocol.Event{Seq: s.next(device), TS: time.Now().UnixMilli(), Type: typ}
	s.publish(t, device, protocol.KindEvent, protocol.EncodeEvent(e))
}

func f64(v float64) *float64 { return &v }

// reading is one on-time reading of a device, taken ago before now.
func (s *stack) reading(device string, ago time.Duration, battery float64) protocol.Reading {
	return protocol.Reading{Seq: s.next(device), TS: time.Now().Add(-ago).UnixMilli(), Battery: f64(battery), RSSI: f64(-72)}
}

// vitals is a bed sensor's reading with the elder in bed (or not).
func (s *stack) vitals(device string, ago time.Duration, i int) protocol.Reading {
	r := s.reading(device, ago, 80)
	occupied := i%3 != 2
	r.Occupied, r.HR, r.RR, r.Motion = &occupied, f64(float64(62+i)), f64(float64(14+i%3)), f64(0.1)
	return r
}

// everyDeviceReports sends every device's online status and a few on-time readings.
func (s *stack) everyDeviceReports(t *testing.T) {
	t.Helper()
	for _, h := range simHomes {
		fw := "1.4.2"
		if h.township == "乃门莫敦镇" {
			fw = "1.5.0"
		}
		s.status(t, sos(h.id), true, "2.1.0")
		s.status(t, bed(h.id), true, fw)
		s.publish(t, sos(h.id), protocol.KindTelemetry, protocol.EncodeReading(s.reading(sos(h.id), 0, 90)))
		for i := range 4 {
			r := s.vitals(bed(h.id), time.Duration(40-10*i)*time.Second, i)
			s.publish(t, bed(h.id), protocol.KindTelemetry, protocol.EncodeReading(r))
		}
	}
}

// positions has every mobile home's pendant say it is online with the last fix its
// receiver took on the pasture ten minutes ago (accuracy 12 m).
func (s *stack) positions(t *testing.T) {
	t.Helper()
	for _, h := range simHomes {
		if h.pasture == nil {
			continue
		}
		now := time.Now()
		st := protocol.Status{Seq: s.next(sos(h.id)), TS: now.UnixMilli(), Online: true, FW: "2.1.0", HeartbeatS: 60,
			Fix: &protocol.Fix{Lat: h.pasture[0], Lon: h.pasture[1], AccM: 12, TS: now.Add(-10 * time.Minute).UnixMilli()}}
		s.publish(t, sos(h.id), protocol.KindStatus, protocol.EncodeStatus(st))
	}
}

// replayAfterOutage sends a batch a bed sensor kept while it could not reach the
// broker: readings of ten minutes ago, late and replayed.
func (s *stack) replayAfterOutage(t *testing.T, device string) {
	t.Helper()
	batch := []protocol.Reading{s.vitals(device, 10*time.Minute, 0), s.vitals(device, 9*time.Minute, 1)}
	s.publish(t, device, protocol.KindTelemetry, protocol.EncodeBatch(batch))
}

// garbage sends a message the gateway rejects (unknown protocol version).
func (s *stack) garbage(t *testing.T, device string) {
	t.Helper()
	s.publish(t, device, protocol.KindTelemetry, []byte(`{"v":2,"seq":1}`))
}

// load plays the simulated homes' day through the gateway: reports of every device,
// a replayed late batch, rejected messages, an SOS whose first page fails and that
// someone takes by SMS, a second SOS nobody takes, a low battery, a device offline,
// a village outage and an InfluxDB outage. It waits where Prometheus must see a
// counter before it rises again (rates and increases need two samples).
func (s *stack) load(t *testing.T) {
	t.Helper()
	s.everyDeviceReports(t)
	s.positions(t)
	s.replayAfterOutage(t, bed("H-0006"))
	s.garbage(t, bed("H-0002"))
	s.sosWithFailedPage(t, "H-0001", 1)
	s.promAtLeast(t, "sum(carebed_ingest_rejects_total)", 1)
	s.garbage(t, bed("H-0002"))
	s.takeSOS(t, "H-0001")
	s.sosWithFailedPage(t, "H-0006", 2)
	s.publish(t, sos("H-0002"), protocol.KindTelemetry, protocol.EncodeReading(s.reading(sos("H-0002"), 0, 12)))
	s.status(t, sos("H-0007"), false, "")
	for _, d := range []string{sos("H-0003"), bed("H-0003"), sos("H-0004"), bed("H-0004"), sos("H-0005")} {
		s.status(t, d, false, "")
	}
	s.influxOutage(t)
	s.waitStored(t)
}

// sosWithFailedPage presses the home's SOS (the n-th) with Twilio refusing the next
// SMS (400, an invalid number: not retried) and waits until Prometheus has seen the
// failure and the alert's first page sent (the event-to-SMS histogram), so that the
// next SOS makes both rise again.
func (s *stack) sosWithFailedPage(t *testing.T, home string, n float64) {
	t.Helper()
	s.twilio.FailNext(400, 21211)
	s.event(t, sos(home), protocol.EventSOS)
	s.promAtLeast(t, `sum(carebed_notification_attempts_total{channel="sms", result="failed"})`, n)
	s.promAtLeast(t, `sum(carebed_alert_event_to_notification_seconds_count)`, n)
}

// takeSOS has the first person paged about the home's SOS reply with the alert's
// code, and waits until the acknowledgement is in InfluxDB with that person's role.
func (s *stack) takeSOS(t *testing.T, home string) {
	t.Helper()
	var code string
	testwait.Until(t, 30*time.Second, "the SOS alert in InfluxDB", func() (bool, string) {
		rows := s.influx.Query(t, fmt.Sprintf(`SELECT last("code") FROM "alert" WHERE "home" = '%s' AND "kind" = 'sos'`, home))
		if len(rows) == 1 {
			code, _ = rows[0][1].(string)
		}
		return code != "", fmt.Sprint(rows)
	})
	roles := map[string]string{doctorPhone: "village_doctor", visitorPhone: "village_visitor", familyPhone: "family"}
	var from string
	testwait.Until(t, 30*time.Second, "a page with code "+code, func() (bool, string) {
		for _, m := range s.twilio.Messages() {
			if strings.Contains(m.Body, code) && roles[m.To] != "" && (from == "" || m.To == doctorPhone) {
				from = m.To
			}
		}
		return from != "", fmt.Sprint(len(s.twilio.Messages()), " messages")
	})
	if err := s.twilio.SendSMS(context.Background(), s.public+"/webhooks/twilio/sms", from, twilioFrom, code); err != nil {
		t.Fatal(err)
	}
	s.ackRole = roles[from]
	q := fmt.Sprintf(`SELECT "ack_role" FROM "alert" WHERE "code" = '%s' AND "change" = 'acknowledged'`, code)
	testwait.Until(t, 30*time.Second, "the acknowledgement in InfluxDB", func() (bool, string) {
		rows := s.influx.Query(t, q)
		return len(rows) == 1 && rows[0][1] == s.ackRole, fmt.Sprint(rows)
	})
}

// influxOutage stops InfluxDB while a device reports, until Prometheus has seen the
// gateway's write errors (status 0: unreachable) rise, then starts it again and waits
// for the spool to drain.
func (s *stack) influxOutage(t *testing.T) {
	t.Helper()
	s.influx.Stop(t)
	s.publish(t, bed("H-0001"), protocol.KindTelemetry, protocol.EncodeReading(s.vitals(bed("H-0001"), 0, 4)))
	s.promRises(t, `sum(carebed_influx_write_errors_total{status="0"})`)
	s.influx.Start(t)
	restarted := time.Now()
	// Shipped: nothing older than the restart waits (newer records may, for a fuller
	// write: influx.flush_interval).
	testwait.Until(t, 60*time.Second, "the spool shipped after the outage", func() (bool, string) {
		r := s.gw.Readiness()
		return r.Influx && (r.SpoolRecords == 0 || r.SpoolAgeSecs < time.Since(restarted).Seconds()), fmt.Sprintf("%+v", r)
	})
}

// promRises waits until Prometheus has a value of expr and then a higher one.
func (s *stack) promRises(t *testing.T, expr string) {
	t.Helper()
	s.promAtLeast(t, expr, 0)
	first := s.prom.Query(t, expr)[0].Samples[0].Value
	s.promAtLeast(t, expr, first+1)
}

// promAtLeast waits until Prometheus's instant value of expr reaches v.
func (s *stack) promAtLeast(t *testing.T, expr string, v float64) {
	t.Helper()
	testwait.Until(t, 60*time.Second, fmt.Sprintf("%s >= %g in Prometheus", expr, v), func() (bool, string) {
		got := s.prom.Query(t, expr)
		return len(got) == 1 && got[0].Samples[0].Value >= v, fmt.Sprint(got)
	})
}

// waitStored waits until InfluxDB holds what the boards are checked against.
func (s *stack) waitStored(t *testing.T) {
	t.Helper()
	for what, q := range map[string]string{
		"every home":             `SELECT last("devices") FROM "home" GROUP BY "home"`,
		"the village outage":     `SELECT "state" FROM "alert" WHERE "kind" = 'village_outage'`,
		"the offline pendant":    `SELECT "online" FROM "device_status" WHERE "device" = 'h-0007-sos' AND "online" = false`,
		"the low battery":        `SELECT "battery" FROM "telemetry" WHERE "battery" <= 15`,
		"the replayed readings":  `SELECT "hr" FROM "telemetry" WHERE "replayed" = true`,
		"the second SOS's alert": `SELECT "state" FROM "alert" WHERE "home" = 'H-0006' AND "kind" = 'sos'`,
		"the herders' positions": `SELECT "lat" FROM "positions"."position"`,
	} {
		want := map[string]int{"every home": len(simHomes), "the replayed readings": 2, "the herders' positions": 2}[what]
		testwait.Until(t, 30*time.Second, what+" in InfluxDB", func() (bool, string) {
			n := len(s.influx.Query(t, q))
			return n >= max(want, 1), fmt.Sprintf("%d rows", n)
		})
	}
}
