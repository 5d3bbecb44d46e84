// Package rawmqtt writes MQTT bytes by hand for tests of what a hostile client
// sends a broker (oversize packets, connections that never finish), which a real
// client library refuses to produce.
package rawmqtt

import (
	"errors"
	"net"
	"time"
)

// RemainingLength encodes n as MQTT's variable-length integer.
func RemainingLength(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// ClosedWithin reports whether the peer closes c within d (EOF or reset), reading
// and discarding anything it sends.
func ClosedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		var ne net.Error
		switch {
		case err == nil:
			continue
		case errors.As(err, &ne) && ne.Timeout():
			return false
		default:
			return true
		}
	}
}
