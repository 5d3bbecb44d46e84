package devsvc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// mqttConn is a minimal MQTT 3.1.1 client over a raw TCP connection, enough to check
// the broker's configuration without importing a client library into devsvc.
type mqttConn struct {
	t      testing.TB
	c      net.Conn
	r      *bufio.Reader
	nextID uint16
	// where, when set, says in failure messages what the test was waiting for.
	where string
}

const mqttTimeout = 10 * time.Second

// mqttConnect connects with clientID; clean is the clean-session flag. It returns the
// connection and the CONNACK's session-present flag.
func mqttConnect(t testing.TB, addr, clientID string, clean bool) (*mqttConn, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, mqttTimeout)
	if err != nil {
		t.Fatalf("mqtt dial %s: %v", addr, err)
	}
	return mqttConnectOver(t, c, clientID, clean)
}

// mqttConnectOver is mqttConnect over a link already made (TLS, for one).
func mqttConnectOver(t testing.TB, c net.Conn, clientID string, clean bool) (*mqttConn, bool) {
	t.Helper()
	m := &mqttConn{t: t, c: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	flags := byte(0)
	if clean {
		flags = 0x02
	}
	body := append(mqttString("MQTT"), 4, flags, 0, 60) // protocol level 4, keepalive 60 s
	body = append(body, mqttString(clientID)...)
	m.write(0x10, body)
	typ, ack := m.read()
	if typ>>4 != 2 || len(ack) != 2 || ack[1] != 0 {
		t.Fatalf("mqtt connect %s: want CONNACK accepted, got type %#x body %v", clientID, typ, ack)
	}
	return m, ack[0]&1 == 1
}

func mqttString(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func (m *mqttConn) write(header byte, body []byte) {
	m.t.Helper()
	pkt := []byte{header}
	for n := len(body); ; {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	pkt = append(pkt, body...)
	m.c.SetDeadline(time.Now().Add(mqttTimeout))
	if _, err := m.c.Write(pkt); err != nil {
		m.t.Fatalf("mqtt write: %v", err)
	}
}

// read returns the next packet's first byte and its body.
func (m *mqttConn) read() (byte, []byte) {
	m.t.Helper()
	m.c.SetDeadline(time.Now().Add(mqttTimeout))
	typ, err := m.r.ReadByte()
	if err != nil {
		m.t.Fatalf("mqtt read %s: %v", m.where, err)
	}
	n, shift := 0, 0
	for {
		b, err := m.r.ReadByte()
		if err != nil {
			m.t.Fatalf("mqtt read length: %v", err)
		}
		n |= int(b&0x7f) << shift
		shift += 7
		if b&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(m.r, body); err != nil {
		m.t.Fatalf("mqtt read body: %v", err)
	}
	return typ, body
}

func (m *mqttConn) id() []byte {
	m.nextID++
	if m.nextID == 0 {
		m.nextID = 1
	}
	return binary.BigEndian.AppendUint16(nil, m.nextID)
}

// subscribe subscribes to filter at QoS 1 and waits for the SUBACK.
func (m *mqttConn) subscribe(filter string) {
	m.t.Helper()
	body := append(m.id(), mqttString(filter)...)
	m.write(0x82, append(body, 1))
	typ, ack := m.read()
	if typ>>4 != 9 || len(ack) != 3 || ack[2] != 1 {
		m.t.Fatalf("mqtt subscribe %s: want SUBACK granting QoS 1, got type %#x body %v", filter, typ, ack)
	}
}

// publish1 publishes payload on topic at QoS 1 and waits for the PUBACK.
func (m *mqttConn) publish1(topic, payload string) {
	m.t.Helper()
	id := m.id()
	body := append(append(mqttString(topic), id...), payload...)
	m.write(0x32, body)
	typ, ack := m.read()
	if typ>>4 != 4 || string(ack) != string(id) {
		m.t.Fatalf("mqtt publish: want PUBACK %v, got type %#x body %v", id, typ, ack)
	}
}

// receive reads the next PUBLISH, acknowledges it if it is QoS 1, and returns its
// topic and payload.
func (m *mqttConn) receive() (string, string) {
	m.t.Helper()
	typ, body := m.read()
	if typ>>4 != 3 {
		m.t.Fatalf("mqtt: want PUBLISH, got type %#x body %v", typ, body)
	}
	n := int(binary.BigEndian.Uint16(body))
	topic, rest := string(body[2:2+n]), body[2+n:]
	if qos := typ >> 1 & 3; qos > 0 {
		if qos != 1 {
			m.t.Fatalf("mqtt: QoS %d PUBLISH, want at most 1", qos)
		}
		m.write(0x40, rest[:2])
		rest = rest[2:]
	}
	return topic, string(rest)
}

// disconnect sends DISCONNECT and closes the connection.
func (m *mqttConn) disconnect() {
	m.t.Helper()
	m.write(0xe0, nil)
	m.c.Close()
}

func (m *mqttConn) String() string { return fmt.Sprintf("mqtt %s", m.c.RemoteAddr()) }
