//go:build !linux

package restlink

import "net"

// readPeerCred reports no identity: only Linux's SO_PEERCRED is read, and
// callers refuses a unix-socket caller it cannot identify.
func readPeerCred(net.Conn) peerCred { return peerCred{} }
