package restlink

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// readPeerCred reads SO_PEERCRED of a unix-socket connection.
func readPeerCred(c net.Conn) peerCred {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return peerCred{}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return peerCred{}
	}
	var cred peerCred
	_ = raw.Control(func(fd uintptr) {
		if u, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			cred = peerCred{uid: u.Uid, gid: u.Gid, pid: u.Pid, known: true}
		}
	})
	return cred
}
