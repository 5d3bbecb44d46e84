package broker

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// tlsSocket is the socket beneath a TLS connection the broker accepted, for
// awaitInput; nil for any other connection (plain TCP, a test's pipe).
func tlsSocket(nc net.Conn) syscall.RawConn {
	gc, ok := nc.(*guardedConn)
	if !ok {
		return nil
	}
	tc, ok := gc.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	sc, ok := tc.NetConn().(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// readable reports whether the socket fd has bytes to read or has ended, without
// taking any: false sends the caller to wait on the runtime's poller. It peeks
// rather than trusting the poller's last wake-up, which is edge-triggered: bytes
// left by an earlier read would not wake it again.
func readable(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		if !errors.Is(err, unix.EINTR) {
			return !errors.Is(err, unix.EAGAIN)
		}
	}
}
