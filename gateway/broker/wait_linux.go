package broker

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketOf is the TCP socket of a connection the broker accepted, for awaitInput,
// and whether TLS runs over it; nil for any other connection (a test's pipe).
func socketOf(nc net.Conn) (raw syscall.RawConn, overTLS bool) {
	if gc, ok := nc.(*guardedConn); ok {
		nc = gc.Conn
	}
	if tc, ok := nc.(*tls.Conn); ok {
		nc, overTLS = tc.NetConn(), true
	}
	sc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	return raw, overTLS
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
