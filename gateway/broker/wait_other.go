//go:build !linux

package broker

import (
	"net"
	"syscall"
)

// socketOf is nil where readable is not written: connections wait in their read.
func socketOf(net.Conn) (syscall.RawConn, bool) { return nil, false }

func readable(uintptr) bool { return true }
