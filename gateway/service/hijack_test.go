package service

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/gateway/protocol"
)

// TestMosquittoDeviceCannotTakeTheGatewaysSession is issue 21's repro against a real
// Mosquitto with the exported files: a device's credential connecting with the
// gateway's client id (`mosquitto_sub -c -q 1 -i <gateway> -u <device> -P ...`,
// reconnecting whenever thrown off) must neither throw the gateway off nor take its
// persistent session, and every reading another device publishes meanwhile is stored
// exactly once. The session then still survives the gateway's absence and a
// Mosquitto restart (use_username_as_clientid keys it by the username).
func TestMosquittoDeviceCannotTakeTheGatewaysSession(t *testing.T) {
	devices := deviceIDs("bed", 2)
	s := newSecureSite(t, false, devices)
	dev, thief := devices[0], devices[1]
	gatewayID := s.e.cfg.MQTT.SessionClientID()

	var intruderConnects atomic.Int64
	intruder := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(s.url).SetTLSConfig(s.trust).
		SetClientID(gatewayID).SetUsername(thief).SetPassword(s.passwords[thief]).
		SetCleanSession(false).SetProtocolVersion(4).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			intruderConnects.Add(1)
			c.Subscribe(protocol.DeviceTopic(thief, protocol.KindCmd), 1, nil)
		}))
	if tok := intruder.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("the device's credential did not connect at all: %v", tok.Error())
	}
	defer intruder.Disconnect(0)

	pub, err := s.dial(dev, dev, s.passwords[dev], s.trust)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	acked := map[string][]uint64{}
	for seq := uint64(1); seq <= n; seq++ {
		topic, payload := mixedClock(dev, seq, time.Now())
		publish(t, pub, topic, payload)
		acked[dev] = append(acked[dev], seq)
		time.Sleep(10 * time.Millisecond) // 3 s of traffic while the intruder holds on
	}
	pub.Disconnect(100)
	waitFor(t, 60*time.Second, "every acknowledged reading stored", func() (bool, string) {
		got := s.e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return got >= n, fmt.Sprintf("%d of %d", got, n)
	})
	exactlyOnce(t, seqsIn(t, s.e.influx, "telemetry"), acked)
	if lost := metric(t, s.r.reg, "carebed_mqtt_connection_lost_total", nil); lost != 0 {
		t.Errorf("the gateway lost its connection %v times while a device used its client id", lost)
	}
	if c := intruderConnects.Load(); c != 1 {
		t.Errorf("the intruder connected %d times: it and someone threw each other off", c)
	}

	// The gateway's session (subscriptions and queue) survives its absence and a
	// Mosquitto restart: what devices publish meanwhile is delivered when it is back.
	intruder.Disconnect(0)
	s.r.stop()
	pub, err = s.dial(dev, dev, s.passwords[dev], s.trust)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(n + 1); seq <= n+50; seq++ {
		topic, payload := mixedClock(dev, seq, time.Now())
		publish(t, pub, topic, payload)
		acked[dev] = append(acked[dev], seq)
	}
	pub.Disconnect(100)
	s.e.mq.Restart(t)
	s.r = s.e.start()
	waitFor(t, 60*time.Second, "the readings queued for the gateway's session stored", func() (bool, string) {
		got := s.e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return got >= n+50, fmt.Sprintf("%d of %d", got, n+50)
	})
	exactlyOnce(t, seqsIn(t, s.e.influx, "telemetry"), acked)
}
