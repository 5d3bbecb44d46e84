package service

import (
	"fmt"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

// The alarm session reads devices' events on its own, so an SOS reaches the alert
// rules while the main session is away (or, at a site coming back from a power cut,
// busy with a backlog the broker queued for it). When the main session returns, the
// broker's second copy of the SOS is dropped, not counted as a duplicate: nobody is
// paged twice.
func TestAlarmSessionPagesWhileTheMainSessionIsAway(t *testing.T) {
	e := newAlertEnv(t)
	r := e.start()
	sessionsUp := func() (bool, string) {
		main := metric(t, r.reg, "carebed_mqtt_connected", nil)
		alarms := metric(t, r.reg, "carebed_mqtt_alarms_connected", nil)
		return main == 1 && alarms == 1, fmt.Sprintf("main %v, alarms %v", main, alarms)
	}
	waitFor(t, 20*time.Second, "both sessions connected and subscribed", sessionsUp)
	r.g.session.Close() // the broker keeps its session and queues its messages

	dev := publishClient(t, e.mq.URL, "hj-0002-sos")
	publish(t, dev, "carebed/v1/hj-0002-sos/event", protocol.EncodeEvent(protocol.Event{Seq: 1, TS: time.Now().UnixMilli(), Type: protocol.EventSOS}))
	e.waitSMS(t, familyPhone, 1, 10*time.Second)

	r.g.session.Connect()
	waitFor(t, 20*time.Second, "the main session back", sessionsUp)
	waitFor(t, 20*time.Second, "the main session's copy of the SOS taken", func() (bool, string) {
		n := metric(t, r.reg, "carebed_ingest_latency_seconds", nil) // every message handed off
		return n == 2, fmt.Sprint(n)
	})
	if got := e.smsTo(familyPhone); len(got) != 1 {
		t.Errorf("the family got %d SMS for one SOS: %q", len(got), got)
	}
	for result, want := range map[string]float64{"stored": 1, "duplicate": 0} { // the second copy is expected
		if n := metric(t, r.reg, "carebed_ingest_messages_total", map[string]string{"kind": "event", "result": result}); n != want {
			t.Errorf("SOS %s: %v, want %v", result, n, want)
		}
	}
}

// With the broker files `gateway broker export` writes, Mosquitto lets the alarm
// session in as its own user and delivers it every device's events (its ACL), and
// nothing else: a reading waits for the main session.
func TestAlarmSessionUserFromTheExport(t *testing.T) {
	s := newSecureSite(t, false, deviceIDs("bed", 1))
	dev := deviceIDs("bed", 1)[0]
	waitFor(t, 20*time.Second, "both sessions connected", func() (bool, string) {
		main := metric(t, s.r.reg, "carebed_mqtt_connected", nil)
		alarms := metric(t, s.r.reg, "carebed_mqtt_alarms_connected", nil)
		return main == 1 && alarms == 1, fmt.Sprintf("main %v, alarms %v", main, alarms)
	})
	s.r.g.session.Close()
	c, err := s.dial(dev, dev, s.passwords[dev], s.trust)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(100)
	publish(t, c, protocol.Prefix+dev+"/telemetry", protocol.EncodeReading(protocol.Reading{Seq: 1, TS: time.Now().UnixMilli(), HR: f64(61)}))
	publish(t, c, protocol.Prefix+dev+"/event", protocol.EncodeEvent(protocol.Event{Seq: 2, TS: time.Now().UnixMilli(), Type: protocol.EventBedExit}))
	stored := func(kind string) float64 {
		return metric(t, s.r.reg, "carebed_ingest_messages_total", map[string]string{"kind": kind, "result": "stored"})
	}
	waitFor(t, 20*time.Second, "the event stored through the alarm session", func() (bool, string) {
		return stored("event") == 1, fmt.Sprint(stored("event"))
	})
	if n := stored("telemetry"); n != 0 {
		t.Fatalf("%v readings stored while the main session was away: the alarm session reads more than events", n)
	}
	s.r.g.session.Connect()
	waitFor(t, 20*time.Second, "the reading stored once the main session is back", func() (bool, string) {
		return stored("telemetry") == 1, fmt.Sprint(stored("telemetry"))
	})
}
