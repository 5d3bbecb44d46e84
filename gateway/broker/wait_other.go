//go:build !linux

package broker

import (
	"net"
	"syscall"
)

// tlsSocket is nil where readable is not written: TLS connections wait in their
// read, as plain ones do.
func tlsSocket(net.Conn) syscall.RawConn { return nil }

func readable(uintptr) bool { return true }
