package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"carebed/firmware-sim/fleet"
	"carebed/gateway/protocol"
)

func TestEmbeddedBrokerStoresEveryAcknowledgedMessage(t *testing.T) {
	e := newEnv(t, true)
	devices := deviceIDs("pendant", 10)
	e.register(devices)
	r := e.start()
	url := "tcp://" + r.g.BrokerAddr()
	f := fleet.New(fleet.Options{Broker: url, Devices: devices, PerDevice: true, Rate: 200,
		Duration: 5 * time.Second, Payload: mixedClock, Record: true})
	rep, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || rep.Acked < 500 {
		t.Fatalf("report %+v", rep)
	}
	acked := f.Acked()
	// The PUBACK came after the hand-off: stop the gateway (it flushes the spool) and
	// everything acknowledged must be in InfluxDB.
	r.stop()
	waitFor(t, 30*time.Second, "every acknowledged message stored", func() (bool, string) {
		n := e.influx.Count(t, "SELECT COUNT(seq) FROM telemetry")
		return n >= int64(total(acked)), fmt.Sprintf("%d of %d", n, total(acked))
	})
	exactlyOnce(t, seqsIn(t, e.influx, "telemetry"), acked)
}

func TestEmbeddedBrokerRefusesStrangersAndForeignTopics(t *testing.T) {
	e := newEnv(t, true)
	e.register(deviceIDs("pendant", 2))
	r := e.start()
	url := "tcp://" + r.g.BrokerAddr()

	cases := []struct{ name, clientID, user string }{
		{"unregistered device", "ghost-0001", "ghost-0001"},
		{"client id differs from username", "pendant-0002", "pendant-0001"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(c.clientID).
				SetUsername(c.user).SetConnectTimeout(5 * time.Second))
			tok := cl.Connect()
			if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				cl.Disconnect(0)
				t.Fatal("connection accepted")
			}
		})
	}

	t.Run("publish to another device's topic", func(t *testing.T) {
		lost := make(chan struct{}, 1)
		cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("pendant-0001").
			SetUsername("pendant-0001").SetAutoReconnect(false).
			SetConnectionLostHandler(func(mqtt.Client, error) { lost <- struct{}{} }))
		if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		defer cl.Disconnect(0)
		cl.Publish("carebed/v1/pendant-0002/event", 1, false,
			protocol.EncodeEvent(protocol.Event{Seq: 1, Type: protocol.EventSOS}))
		select {
		case <-lost: // MQTT 3.1.1 has no refusal code for a publish: the broker disconnects
		case <-time.After(10 * time.Second):
			t.Fatal("the broker kept the connection of a device that wrote another's topic")
		}
		if n := metric(t, r.reg, "carebed_ingest_messages_total", nil); n != 0 {
			t.Errorf("ingest took %v messages, want none", n)
		}
	})
}
