package broker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"carebed/gateway/brokerauth"
)

// errPacketTooLarge: a packet declared a length over brokerauth.MaxPacketSize.
var errPacketTooLarge = errors.New("packet too large")

// errMalformed: a packet the broker cannot decode; the connection is closed.
var errMalformed = errors.New("malformed packet")

// readPacket reads one MQTT 3.1.1 packet. Its declared length is checked against
// brokerauth.MaxPacketSize before the body is read or allocated, so one packet
// declaring 200 MB costs nothing; the body is decoded by the MQTT client library's
// codec (paho's packets), from a buffer of exactly the declared length.
func readPacket(r *bufio.Reader) (packets.ControlPacket, error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	n, size, err := readLength(r)
	if err != nil {
		return nil, err
	}
	if 1+size+n > brokerauth.MaxPacketSize { // the whole packet, as Mosquitto counts it
		return nil, errPacketTooLarge
	}
	fh := packets.FixedHeader{MessageType: first >> 4, Dup: first&0x08 != 0, Qos: (first >> 1) & 0x03,
		Retain: first&0x01 != 0, RemainingLength: n}
	if !flagsValid(first) {
		return nil, fmt.Errorf("%w: fixed header flags %#x", errMalformed, first)
	}
	cp, err := packets.NewControlPacketWithHeader(fh)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	if c, ok := cp.(*packets.ConnectPacket); ok && !knownLevel(c, body) {
		return c, nil // Validate refuses it with CONNACK 1, as MQTT asks
	}
	if err := unpack(cp, body); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errMalformed, packets.PacketNames[fh.MessageType], err)
	}
	return cp, nil
}

// unpack decodes body into cp and checks that its fields fill body exactly: the
// codec reads a field cut short as zeros rather than failing.
func unpack(cp packets.ControlPacket, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	if err := cp.Unpack(bytes.NewBuffer(body)); err != nil {
		return err
	}
	want, ok := encodedLength(cp)
	switch {
	case !ok:
		return errors.New("not a packet a client sends")
	case want != len(body):
		return fmt.Errorf("fields of %d bytes in a body of %d", want, len(body))
	}
	return nil
}

// encodedLength is the length of cp's body as its fields say; ok is false for the
// packets only a server sends.
func encodedLength(cp packets.ControlPacket) (n int, ok bool) {
	str := func(s string) int { return 2 + len(s) }
	switch p := cp.(type) {
	case *packets.ConnectPacket:
		n = str(p.ProtocolName) + 4 + str(p.ClientIdentifier)
		if p.WillFlag {
			n += str(p.WillTopic) + 2 + len(p.WillMessage)
		}
		if p.UsernameFlag {
			n += str(p.Username)
		}
		if p.PasswordFlag {
			n += 2 + len(p.Password)
		}
	case *packets.PublishPacket:
		n = str(p.TopicName) + len(p.Payload)
		if p.Qos > 0 {
			n += 2
		}
	case *packets.SubscribePacket:
		n = 2
		for _, t := range p.Topics {
			n += str(t) + 1
		}
	case *packets.UnsubscribePacket:
		n = 2
		for _, t := range p.Topics {
			n += str(t)
		}
	case *packets.PubackPacket, *packets.PubrecPacket, *packets.PubrelPacket, *packets.PubcompPacket:
		n = 2
	case *packets.PingreqPacket, *packets.DisconnectPacket:
	default:
		return 0, false
	}
	return n, true
}

// knownLevel reports whether a CONNECT's body names a protocol level this broker
// decodes (3: MQTT 3.1, 4: 3.1.1). When it does not (MQTT 5's CONNECT has fields
// 3.1.1 has not), it sets c's name and level only, for Validate to answer.
func knownLevel(c *packets.ConnectPacket, body []byte) bool {
	if len(body) < 2 {
		return true // unpack says what is wrong
	}
	n := int(body[0])<<8 | int(body[1])
	if len(body) < 2+n+1 {
		return true
	}
	c.ProtocolName, c.ProtocolVersion = string(body[2:2+n]), body[2+n]
	return c.ProtocolVersion == 3 || c.ProtocolVersion == 4
}

// flagsValid: MQTT fixes the low four bits of every fixed header but PUBLISH's.
func flagsValid(first byte) bool {
	switch first >> 4 {
	case packets.Publish:
		return (first>>1)&0x03 != 3
	case packets.Pubrel, packets.Subscribe, packets.Unsubscribe:
		return first&0x0f == 0x02
	}
	return first&0x0f == 0
}

// readLength reads a packet's remaining length (MQTT's variable byte integer, at most
// four bytes) and returns it with its size in bytes.
func readLength(r *bufio.Reader) (n, size int, err error) {
	for shift := 0; size < 4; shift += 7 {
		b, err := r.ReadByte()
		if err != nil {
			return 0, 0, err
		}
		size++
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			return n, size, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: remaining length over four bytes", errMalformed)
}
