package broker

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/brokerauth"
	"carebed/internal/rawmqtt"
)

// FuzzReadPacket: whatever a client sends, readPacket returns a packet whose fields
// fill its declared length exactly, or an error; it never panics, and never takes
// a packet over the size limit. A packet it takes is written back by the codec and
// read again the same.
func FuzzReadPacket(f *testing.F) {
	for _, pk := range seedPackets() {
		var b bytes.Buffer
		if err := pk.Write(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add(append([]byte{0x10}, rawmqtt.RemainingLength(brokerauth.MaxPacketSize)...))
	f.Add([]byte{0x30, 4, 0, 10, 'a', 'b'})
	f.Add([]byte{0x82, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		pk, err := readPacket(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			if errors.Is(err, errPacketTooLarge) && len(data) > brokerauth.MaxPacketSize {
				t.Fatalf("a packet of %d bytes refused as too large", len(data))
			}
			return
		}
		n, ok := encodedLength(pk)
		if !ok || n+2 > len(data) || n > brokerauth.MaxPacketSize {
			t.Fatalf("took %v: %d bytes of fields from %d bytes", pk, n, len(data))
		}
		var b bytes.Buffer
		if err := pk.Write(&b); err != nil {
			t.Fatalf("write back %v: %v", pk, err)
		}
		again, err := readPacket(bufio.NewReader(&b))
		if err != nil {
			t.Fatalf("read back %v: %v", pk, err)
		}
		if m, _ := encodedLength(again); m != n || again.String() != pk.String() {
			t.Fatalf("read back %v, want %v", again, pk)
		}
	})
}

// seedPackets are one of each packet a client sends.
func seedPackets() []packets.ControlPacket {
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.Keepalive, cp.ClientIdentifier = "MQTT", 4, 60, "bed-0001"
	cp.UsernameFlag, cp.Username, cp.PasswordFlag, cp.Password = true, "bed-0001", true, []byte("pw")
	cp.WillFlag, cp.WillQos, cp.WillTopic, cp.WillMessage = true, 1, "carebed/v1/bed-0001/status", []byte(`{"online":false}`)
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.Qos, pp.MessageID, pp.TopicName, pp.Payload = 1, 9, "carebed/v1/bed-0001/telemetry", []byte(`{"seq":1}`)
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{"carebed/v1/bed-0001/cmd"}, []byte{1}
	up := packets.NewControlPacket(packets.Unsubscribe).(*packets.UnsubscribePacket)
	up.MessageID, up.Topics = 2, []string{"carebed/v1/bed-0001/cmd"}
	ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
	ack.MessageID = 3
	return []packets.ControlPacket{cp, pp, sp, up, ack, packets.NewControlPacket(packets.Pingreq),
		packets.NewControlPacket(packets.Disconnect)}
}

// TestReadPacketStopsAtTheLimit: a packet of exactly the limit is read; one byte
// more is refused before its body is read.
func TestReadPacketStopsAtTheLimit(t *testing.T) {
	for _, c := range []struct {
		size int
		want error
	}{
		{brokerauth.MaxPacketSize, nil},
		{brokerauth.MaxPacketSize + 1, errPacketTooLarge},
	} {
		topic := "carebed/v1/bed-0001/telemetry"
		header := len(rawmqtt.RemainingLength(c.size)) + 1
		pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		pp.TopicName, pp.Payload = topic, make([]byte, c.size-header-2-len(topic))
		var b bytes.Buffer
		if err := pp.Write(&b); err != nil {
			t.Fatal(err)
		}
		if b.Len() != c.size {
			t.Fatalf("built %d bytes, want %d", b.Len(), c.size)
		}
		_, err := readPacket(bufio.NewReader(io.LimitReader(&b, 8))) // the header only
		if c.want == nil && errors.Is(err, errPacketTooLarge) || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%d bytes: %v, want %v", c.size, err, c.want)
		}
	}
}
