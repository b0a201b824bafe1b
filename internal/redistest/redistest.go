// Package redistest runs a real redis-server for tests: on a free
// 127.0.0.1 port, without persistence, in the test's temporary directory,
// stopped by its PID when the test ends. DEBUG is allowed (from loopback),
// so that a test can make the server stall with DEBUG SLEEP.
//
// redis-server must be installed (Debian: apt-get install -y
// redis-server; `make test` does it). Without it, Start fails the test
// rather than skipping it, so that a missing server never passes for a
// green run.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/loopback"
)

// startTimeout is how long a server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is a redis-server started for a test.
type Server struct {
	// Addr is host:port, e.g. "127.0.0.1:41234".
	Addr string
	// URL is redis://Addr.
	URL string

	t       testing.TB
	bin     string
	dir     string
	port    int
	cluster bool

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start starts a redis-server and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartCluster starts a redis-server in cluster mode, as a one-node
// cluster that serves every slot: enough to check that scripts keep their
// keys in one slot and that a Cluster client works. It takes about two
// seconds: a new cluster master waits that long before it reports ok.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, cluster bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed: run `make test`, which installs it, or `apt-get update && apt-get install -y redis-server`")
	}
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatalf("finding a free port for redis-server: %v", err)
	}
	s := &Server{
		Addr:    "127.0.0.1:" + strconv.Itoa(port),
		URL:     "redis://127.0.0.1:" + strconv.Itoa(port),
		t:       t,
		bin:     bin,
		dir:     t.TempDir(),
		port:    port,
		cluster: cluster,
	}
	t.Cleanup(s.Kill)
	s.Restart()
	if cluster {
		if _, err := s.Do("CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
			t.Fatalf("assigning cluster slots: %v", err)
		}
		s.waitClusterOK()
	}
	return s
}

// Restart starts the server again on the same port (after Kill): a
// Redis coming back after an outage, empty. It does nothing if the
// server runs.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"),
		"--enable-debug-command", "local",
	}
	if s.cluster {
		args = append(args, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.dir, "nodes.conf"))
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(startTimeout)
	for {
		reply, err := s.do("PING")
		if err == nil && reply == "PONG" {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server did not answer PING on %s within %v: %v\n%s", s.Addr, startTimeout, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server at once (SIGKILL to its PID) and waits for it to
// exit: an outage. It does nothing if the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Do sends one command on a new connection and returns the reply as
// text: a status or bulk string, an integer, or the elements of an array
// joined by newlines. It is for test setup (CONFIG SET, ACL SETUSER, …).
func (s *Server) Do(args ...string) (string, error) {
	return s.do(args...)
}

func (s *Server) waitClusterOK() {
	s.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		info, err := s.do("CLUSTER", "INFO")
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis cluster did not reach state ok: %v %s", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		parts := make([]string, 0, n)
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
