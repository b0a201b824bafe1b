package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// expectWait is how long a client waits for 100 Continue before sending
// the body anyway (curl's default, and what this harness does).
const expectWait = time.Second

// expectEarly sends a POST with Expect: 100-continue naming a tenant no
// proxy knows, waits up to expectWait for an answer, and measures when the
// final answer came. A proxy that refuses the request should answer at
// once; one that accepts it should send 100 Continue at once.
func (h *harness) expectEarly(t *target, probe string) *observation {
	req := rawRequest{method: "POST", target: "/api/v1/sms/send", tenant: unknownTenant,
		header: []field{{"Content-Type", "application/json"}, {"Expect", "100-continue"}},
		body:   bytes.Repeat([]byte(" "), 256<<10)}
	wire := req.encode(h, t, probe)
	split := bytes.Index(wire, []byte("\r\n\r\n")) + 4
	head, body := wire[:split], wire[split:]

	c, br, start, err := openWith(t, head)
	if err != nil {
		return &observation{err: err}
	}
	defer c.Close()
	o := &observation{}
	_ = c.SetReadDeadline(start.Add(expectWait))
	resp, err := http.ReadResponse(br, &http.Request{Method: "POST"})
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), err == nil && resp.StatusCode == http.StatusContinue:
		// No answer yet, or 100 Continue: send the body, read the answer.
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write(body); err != nil {
			o.err = err
			return o
		}
		resp, err = readFinal(br, "POST")
	}
	if err != nil {
		o.err = err
		return o
	}
	o.wait = time.Since(start)
	o.err = o.fill(resp)
	return o
}

// pipelined writes two requests in one go and reads both answers.
func (h *harness) pipelined(t *target, probe string) *observation {
	var wire []byte
	for _, p := range []string{"/api/v1/sms/1", "/api/v1/sms/2"} {
		wire = append(wire, rawRequest{method: "GET", target: p}.encode(h, t, probe)...)
	}
	return h.onOneConnection(t, [][]byte{wire}, 2)
}

// keepAliveReuse sends three requests one after the other on one
// connection.
func (h *harness) keepAliveReuse(t *target, probe string) *observation {
	var writes [][]byte
	for _, p := range []string{"/api/v1/sms/1", "/api/v1/sms/2", "/api/v1/sms/3"} {
		writes = append(writes, rawRequest{method: "GET", target: p}.encode(h, t, probe))
	}
	return h.onOneConnection(t, writes, 3)
}

// onOneConnection writes each chunk of writes and reads answers on one
// connection until it has want answers; the first write is followed by as
// many answers as it holds requests, every later one by one answer. The
// observation's body is the answers' bodies joined; its status and header
// are the first answer's.
func (h *harness) onOneConnection(t *target, writes [][]byte, want int) *observation {
	o := &observation{}
	c, err := dial(t)
	if err != nil {
		o.err = err
		return o
	}
	defer c.Close()
	br := bufio.NewReader(c)
	start := time.Now()
	got := 0
	for i, w := range writes {
		if _, err := c.Write(w); err != nil {
			o.finding = fmt.Sprintf("connection closed after answer %d", got)
			return o
		}
		n := 1
		if i == 0 {
			n = want - len(writes) + 1
		}
		for range n {
			resp, err := readFinal(br, "GET")
			if err != nil {
				o.finding = fmt.Sprintf("answer %d of %d missing (%s)", got+1, want, shortError(err))
				return o
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				o.finding = fmt.Sprintf("answer %d cut short", got+1)
				return o
			}
			if got == 0 {
				o.status, o.proto, o.header = resp.StatusCode, resp.Proto, resp.Header
			}
			o.body = append(append(o.body, body...), '\n')
			got++
			if resp.Close && got < want {
				o.finding = fmt.Sprintf("connection closed after answer %d", got)
				return o
			}
		}
	}
	o.wait = time.Since(start)
	return o
}

// slowRead fetches the 5 MB answer through a small socket buffer, reading
// 32 KiB every 10 ms (about 2 s in all).
func (h *harness) slowRead(t *target, probe string) *observation {
	o := &observation{}
	// The buffer is set before connecting, as a client with little memory
	// would have it: shrinking it on an open connection shrinks the TCP
	// window under the sender, which stalls some senders for many seconds.
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10)
		})
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", t.addr())
	if err != nil {
		o.err = err
		return o
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	start := time.Now()
	if _, err := c.Write(rawRequest{method: "GET", target: "/api/v1/compat/large"}.encode(h, t, probe)); err != nil {
		o.err = err
		return o
	}
	resp, err := readFinal(bufio.NewReaderSize(c, 32<<10), "GET")
	if err != nil {
		o.err = err
		return o
	}
	o.status, o.proto, o.header = resp.StatusCode, resp.Proto, resp.Header
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		o.body = append(o.body, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			o.finding = fmt.Sprintf("cut off after %s of %s (%s)", size(len(o.body)), size(largeSize), shortError(err))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	o.wait = time.Since(start)
	return o
}

// firstEvent fetches the event stream and measures when its first event
// arrived (the upstream sends the second one a second later).
func (h *harness) firstEvent(t *target, probe string) *observation {
	req := rawRequest{method: "GET", target: "/api/v1/compat/events", header: []field{{"Accept", "text/event-stream"}}}
	c, br, start, err := openWith(t, req.encode(h, t, probe))
	if err != nil {
		return &observation{err: err}
	}
	defer c.Close()
	resp, err := readFinal(br, "GET")
	if err != nil {
		return &observation{err: err}
	}
	o := &observation{}
	o.status, o.proto, o.header = resp.StatusCode, resp.Proto, resp.Header
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		o.body = append(o.body, buf[:n]...)
		if o.wait == 0 && bytes.Contains(o.body, []byte("\n\n")) {
			o.wait = time.Since(start)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				o.err = err
			}
			return o
		}
	}
}

// h2cPriorKnowledge sends a request as HTTP/2 without TLS and without an
// upgrade: what an h2c client with prior knowledge does.
func (h *harness) h2cPriorKnowledge(t *target, probe string) *observation {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	req, err := http.NewRequest("GET", t.baseURL()+"/api/v1/sms/42", nil)
	if err != nil {
		return &observation{err: err}
	}
	for _, f := range t.identity(h.key, tenant) {
		req.Header.Set(f.name, f.value)
	}
	req.Header.Set(probeHeader, probe)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}, Timeout: 5 * time.Second}
	return doGo(client, req)
}

// size formats a byte count for a matrix cell.
func size(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
