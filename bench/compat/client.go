package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// sidecarErrorHeader marks an answer the sidecar wrote itself.
const sidecarErrorHeader = "X-Restlink-Sidecar-Error"

// ioTimeout bounds every client exchange, so that a stalled proxy shows as
// a failure instead of hanging the harness.
const ioTimeout = 20 * time.Second

// observation is what one client run saw, and what the upstream received
// because of it.
type observation struct {
	status  int
	proto   string
	header  http.Header
	trailer http.Header
	body    []byte
	// wait is the latency a case measures (time to the first event, to
	// the final answer of an Expect request, or of the whole exchange).
	wait time.Duration
	// finding is a problem the run itself detected (a closed keep-alive
	// connection, a missing pipelined answer); "" if none.
	finding string
	err     error
	skipped string // why the client could not run at all
	sent    []*recorded
}

// sidecarCode is the error code of an answer the sidecar wrote itself.
func (o *observation) sidecarCode() string {
	if o.header == nil {
		return ""
	}
	return o.header.Get(sidecarErrorHeader)
}

// fill copies a parsed response and its whole body into the observation.
func (o *observation) fill(resp *http.Response) error {
	o.status, o.proto, o.header = resp.StatusCode, resp.Proto, resp.Header
	body, err := io.ReadAll(resp.Body)
	o.body, o.trailer = body, resp.Trailer
	return err
}

// rawRequest is a request written byte for byte by the harness.
type rawRequest struct {
	method  string
	target  string
	proto   string  // "HTTP/1.1" unless set
	header  []field // after the identity headers
	body    []byte
	chunked bool   // send the body with chunked framing
	noHost  bool   // send no Host header
	host    string // Host to send instead of the target's address
	tenant  string // tenant to name instead of acme
}

// encode renders the request for a target, with the identity headers and
// the probe tag.
func (r rawRequest) encode(h *harness, t *target, probe string) []byte {
	var b bytes.Buffer
	proto := r.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(&b, "%s %s %s\r\n", r.method, r.target, proto)
	switch {
	case r.noHost:
	case r.host != "":
		fmt.Fprintf(&b, "Host: %s\r\n", r.host)
	default:
		fmt.Fprintf(&b, "Host: %s\r\n", t.addr())
	}
	tenantName := r.tenant
	if tenantName == "" {
		tenantName = tenant
	}
	for _, f := range append(t.identity(h.key, tenantName), r.header...) {
		fmt.Fprintf(&b, "%s: %s\r\n", f.name, f.value)
	}
	fmt.Fprintf(&b, "%s: %s\r\n", probeHeader, probe)
	switch {
	case r.chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for rest := r.body; len(rest) > 0; {
			n := min(len(rest), 4096)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, rest[:n])
			rest = rest[n:]
		}
		b.WriteString("0\r\n\r\n")
	case r.body != nil:
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(r.body))
		b.Write(r.body)
	default:
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// dial opens a connection to the target with the exchange deadline set.
func dial(t *target) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", t.addr(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	return c, c.SetDeadline(time.Now().Add(ioTimeout))
}

// readFinal reads responses until a final (non-1xx) one.
func readFinal(br *bufio.Reader, method string) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

// exchange sends one raw request on a new connection and reads the answer.
func (h *harness) exchange(t *target, r rawRequest, probe string) *observation {
	c, br, start, err := openWith(t, r.encode(h, t, probe))
	if err != nil {
		return &observation{err: err}
	}
	defer c.Close()
	resp, err := readFinal(br, r.method)
	if err != nil {
		return &observation{err: err}
	}
	o := &observation{}
	o.err = o.fill(resp)
	o.wait = time.Since(start)
	return o
}

// openWith dials t and writes wire; it returns the connection (the caller
// closes it), a reader on it, and when the write began.
func openWith(t *target, wire []byte) (net.Conn, *bufio.Reader, time.Time, error) {
	c, err := dial(t)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	start := time.Now()
	if _, err := c.Write(wire); err != nil {
		c.Close()
		return nil, nil, start, err
	}
	return c, bufio.NewReader(c), start, nil
}

// shortError turns a client error into a short matrix cell.
func shortError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer (timed out)"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s) > 60 {
		s = s[i+2:]
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
