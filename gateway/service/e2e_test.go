package service

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/fleet"
	"carebed/gateway/protocol"
)

// mixedClock is the test fleet's payload: odd devices have no clock (ts 0), so a
// duplicate that slipped through would be a second point, not an overwrite.
func mixedClock(device string, seq uint64, now time.Time) (string, []byte) {
	topic, _ := fleet.Telemetry(device, seq, now)
	hr := 60 + float64(seq%30)
	r := protocol.Reading{Seq: seq, TS: now.UnixMilli(), HR: &hr}
	if device[len(device)-1]%2 == 1 {
		r.TS = 0
	}
	return topic, protocol.EncodeReading(r)
}

func publishClient(t *testing.T, url, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(id).
		SetCleanSession(true).SetConnectTimeout(10 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s as %s: %v", url, id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, payload []byte) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func f64(v float64) *float64 { return &v }

func TestMessagesLandInInfluxWithPlaceTags(t *testing.T) {
	e := newEnv(t, false)
	e.register(deviceIDs("bed", 3))
	r := e.start()
	c := publishClient(t, e.mq.URL, "bed-0001")
	now := time.Now()
	occ := true
	publish(t, c, "carebed/v1/bed-0001/status", protocol.EncodeStatus(protocol.Status{Seq: 1, TS: now.UnixMilli(), Online: true, FW: "1.4.2"}))
	publish(t, c, "carebed/v1/bed-0001/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 2, TS: now.UnixMilli(), HR: f64(64), Occupied: &occ}))
	publish(t, c, "carebed/v1/bed-0001/event", protocol.EncodeEvent(protocol.Event{Seq: 3, TS: now.UnixMilli(), Type: protocol.EventSOS}))
	old := now.Add(-10 * time.Minute).UnixMilli()
	publish(t, c, "carebed/v1/bed-0001/telemetry", protocol.EncodeBatch([]protocol.Reading{
		{Seq: 4, TS: old, HR: f64(70)}, {Seq: 5, TS: old + 60_000, HR: f64(71)}}))
	publish(t, c, "carebed/v1/bed-0001/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 2, TS: now.UnixMilli(), HR: f64(64)})) // duplicate

	waitFor(t, 20*time.Second, "3 telemetry points", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n == 3, fmt.Sprint(n)
	})
	rows := e.influx.Query(t, `SELECT seq, type, county, township, village, home, kind FROM event WHERE device='bed-0001'`)
	want := []any{"sos", "和静县", "巴润哈尔莫敦镇", "村00", "H-00000", "bed_sensor"}
	if len(rows) != 1 || fmt.Sprint(rows[0][2:]) != fmt.Sprint(want) {
		t.Errorf("event rows = %v, want one with %v", rows, want)
	}
	if n := e.influx.Count(t, "SELECT COUNT(delay_ms) FROM telemetry WHERE late = true AND replayed = true"); n != 2 {
		t.Errorf("late replayed readings = %d, want 2", n)
	}
	if n := e.influx.Count(t, "SELECT COUNT(online) FROM device_status WHERE fw = '1.4.2'"); n != 1 {
		t.Errorf("status points = %d, want 1", n)
	}
	if got := metric(t, r.reg, "carebed_ingest_messages_total", map[string]string{"result": "duplicate"}); got != 1 {
		t.Errorf("duplicates counted = %v, want 1", got)
	}
	for _, q := range []string{"SELECT * FROM telemetry", "SELECT * FROM event", "SELECT * FROM device_status"} {
		for _, row := range e.influx.Query(t, q) {
			s := fmt.Sprint(row...)
			for _, secret := range []string{"老人", "探访员", "村医", "1380000", "1390000", "地址"} {
				if strings.Contains(s, secret) {
					t.Errorf("InfluxDB row %v holds personal data %q", row, secret)
				}
			}
		}
	}
}

func TestBrokerRestartUnderLoad(t *testing.T) {
	e := newEnv(t, false)
	devices := deviceIDs("bed", 20)
	e.register(devices)
	r := e.start()
	f := fleet.New(fleet.Options{Broker: e.mq.URL, Devices: devices, Conns: 4, Rate: 400,
		Duration: 12 * time.Second, Payload: mixedClock, Record: true, ClientPrefix: "restart-pub"})
	done := make(chan fleet.Report, 1)
	go func() { rep, err := f.Run(context.Background()); checkRun(t, err); done <- rep }()
	waitFor(t, 20*time.Second, "traffic before the restart", func() (bool, string) {
		return f.Sent() > 800, fmt.Sprint(f.Sent())
	})
	e.mq.Restart(t)
	connects := metric(t, r.reg, "carebed_mqtt_connects_total", nil)
	waitFor(t, 30*time.Second, "gateway reconnected", func() (bool, string) {
		n := metric(t, r.reg, "carebed_mqtt_connects_total", nil)
		return n > connects || (r.g.Readiness().MQTT && n >= 2), fmt.Sprint(n)
	})
	rep := <-done
	if rep.Errors != 0 {
		t.Fatalf("publisher errors: %d (last %v)", rep.Errors, rep.LastError)
	}
	t.Logf("publisher: %d acknowledged, %d unconfirmed across the restart (resent by paho)", rep.Acked, rep.Unconfirmed)
	acked := f.Acked()
	waitFor(t, 60*time.Second, "every acknowledged message stored", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n >= int64(total(acked)), fmt.Sprintf("%d of %d", n, total(acked))
	})
	exactlyOnce(t, seqsIn(t, e.influx, "telemetry"), acked)
	if lost := metric(t, r.reg, "carebed_mqtt_connection_lost_total", nil); lost < 1 {
		t.Errorf("connection_lost_total = %v: the restart was not noticed", lost)
	}
}

func checkRun(t *testing.T, err error) {
	if err != nil {
		t.Error(err)
	}
}

func TestInfluxOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a 60 s outage")
	}
	e := newEnv(t, false)
	devices := deviceIDs("bed", 20)
	e.register(devices)
	r := e.start()
	f := fleet.New(fleet.Options{Broker: e.mq.URL, Devices: devices, Conns: 4, Rate: 300,
		Duration: 75 * time.Second, Payload: mixedClock, Record: true, ClientPrefix: "outage-pub"})
	done := make(chan fleet.Report, 1)
	go func() { rep, err := f.Run(context.Background()); checkRun(t, err); done <- rep }()
	waitFor(t, 20*time.Second, "points before the outage", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n > 300, fmt.Sprint(n)
	})
	e.influx.Stop(t)
	outage := time.Now()
	maxDepth := 0.0
	for time.Since(outage) < 60*time.Second {
		maxDepth = max(maxDepth, metric(t, r.reg, "carebed_spool_depth_records", nil))
		time.Sleep(time.Second)
	}
	if maxDepth < 1000 {
		t.Errorf("spool depth peaked at %v during a 60 s outage at 300 msg/s; want the backlog visible", maxDepth)
	}
	if errs := metric(t, r.reg, "carebed_influx_write_errors_total", nil); errs < 1 {
		t.Errorf("write errors during the outage = %v", errs)
	}
	if rd := r.g.Readiness(); !rd.Ready || rd.Influx {
		t.Errorf("readiness during the outage = %+v, want ready with influx false", rd)
	}
	e.influx.Start(t)
	rep := <-done
	if rep.Errors != 0 {
		t.Fatalf("publisher errors: %d (last %v)", rep.Errors, rep.LastError)
	}
	acked := f.Acked()
	// The spool can be empty a moment before the last messages reach the gateway:
	// wait for what the broker acknowledged, then for the spool.
	waitFor(t, 60*time.Second, "every acknowledged message stored", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n >= int64(total(acked)), fmt.Sprintf("%d of %d", n, total(acked))
	})
	waitFor(t, 60*time.Second, "spool drained", func() (bool, string) {
		d := metric(t, r.reg, "carebed_spool_depth_records", nil)
		return d == 0, fmt.Sprint(d)
	})
	exactlyOnce(t, seqsIn(t, e.influx, "telemetry"), acked)
	t.Logf("acknowledged %d, spool peak %v records", total(acked), maxDepth)
}
