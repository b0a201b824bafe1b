package loopback

import (
	"net"
	"strconv"
	"testing"
	"time"
)

func TestFreePortAndWait(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitForPort(port, 300*time.Millisecond); err == nil {
		t.Fatal("nothing listens, yet WaitForPort succeeded")
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := WaitForPort(port, time.Second); err != nil {
		t.Fatal(err)
	}
}
