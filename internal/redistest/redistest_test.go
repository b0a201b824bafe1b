package redistest

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestStartKillRestart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.URL != "redis://"+s.Addr {
		t.Fatalf("Addr %q, URL %q", s.Addr, s.URL)
	}
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Do("CONFIG", "GET", "save"); got != "save\n" {
		t.Errorf("persistence: CONFIG GET save = %q, want it off", got)
	}
	if got, _ := s.Do("CONFIG", "GET", "appendonly"); got != "appendonly\nno" {
		t.Errorf("CONFIG GET appendonly = %q", got)
	}

	s.Kill()
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the server still accepts connections after Kill")
	}
	s.Kill() // a second Kill is harmless

	s.Restart()
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("after Restart: PING = %q, %v", got, err)
	}
	if got, _ := s.Do("EXISTS", "k"); got != "0" {
		t.Errorf("a restarted server kept data: EXISTS k = %s", got)
	}
}

func TestStartCluster(t *testing.T) {
	s := StartCluster(t)
	info, err := s.Do("CLUSTER", "INFO")
	if err != nil || !strings.Contains(info, "cluster_state:ok") {
		t.Fatalf("CLUSTER INFO = %q, %v", info, err)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and
// ends the goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartFailsWithoutRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(rec)
		rec.msg = "Start returned"
	}()
	<-done
	for _, want := range []string{"redis-server", "make test", "apt-get"} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("failure message %q does not mention %q", rec.msg, want)
		}
	}
}
