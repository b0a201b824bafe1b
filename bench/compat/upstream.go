package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probeHeader tags every request the harness sends, so that the upstream's
// records can be matched to the client run that caused them.
const probeHeader = "X-Compat-Probe"

// largeSize is the size of the large answer (and of what the slow reader
// must receive whole).
const largeSize = 5 << 20

// field is one header line as it was on the wire.
type field struct{ name, value string }

// recorded is one request exactly as the upstream read it off the wire.
type recorded struct {
	line    string  // the raw request line, without CRLF
	method  string  // its first word
	target  string  // its request target, byte for byte
	proto   string  // its version
	header  []field // in wire order, names as sent
	body    []byte  // decoded from chunked framing if it was chunked
	chunked bool
}

// values returns the values of the named header (case-insensitive), in
// wire order.
func (r *recorded) values(name string) []string {
	var vals []string
	for _, f := range r.header {
		if strings.EqualFold(f.name, name) {
			vals = append(vals, f.value)
		}
	}
	return vals
}

// upstream is the recording upstream: a minimal HTTP/1.1 server written
// directly on TCP, so that it sees requests exactly as they were sent and
// controls its answers' framing to the byte.
type upstream struct {
	ln    net.Listener
	large []byte // the 5 MB answer
	plain []byte // a JSON answer that the gzip answers compress
	gz    []byte // plain, gzip-compressed

	mu    sync.Mutex
	reqs  map[string][]*recorded // by probe tag
	conns map[net.Conn]struct{}
}

// startUpstream listens on a free 127.0.0.1 port and serves until close.
func startUpstream() (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{ln: ln, reqs: map[string][]*recorded{}, conns: map[net.Conn]struct{}{}}
	u.large = make([]byte, largeSize)
	for i := range u.large {
		u.large[i] = byte('a' + i%26)
	}
	u.plain = []byte(`{"status":true,"data":{"padding":"` + strings.Repeat("restlink ", 64) + `"}}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(u.plain)
	_ = zw.Close()
	u.gz = gz.Bytes()
	go u.serve()
	return u, nil
}

// port is the port the upstream listens on.
func (u *upstream) port() int { return u.ln.Addr().(*net.TCPAddr).Port }

// close stops listening and closes every open connection.
func (u *upstream) close() {
	_ = u.ln.Close()
	u.mu.Lock()
	defer u.mu.Unlock()
	for c := range u.conns {
		_ = c.Close()
	}
}

// take removes and returns the requests recorded with a probe tag, in the
// order they arrived.
func (u *upstream) take(probe string) []*recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.reqs[probe]
	delete(u.reqs, probe)
	return r
}

// record files a request under its probe tag.
func (u *upstream) record(r *recorded) {
	probe := ""
	if v := r.values(probeHeader); len(v) > 0 {
		probe = v[0]
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reqs[probe] = append(u.reqs[probe], r)
}

// serve accepts connections until the listener is closed.
func (u *upstream) serve() {
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		u.conns[c] = struct{}{}
		u.mu.Unlock()
		go u.handle(c)
	}
}

// handle serves one connection: requests in turn while it is kept alive.
func (u *upstream) handle(c net.Conn) {
	defer func() {
		u.mu.Lock()
		delete(u.conns, c)
		u.mu.Unlock()
		_ = c.Close()
	}()
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriterSize(c, 64<<10)
	for {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		req, err := readRequest(br, bw)
		if err != nil {
			return
		}
		if req.method == "PRI" { // an HTTP/2 preface: this server speaks HTTP/1.x only
			_, _ = bw.WriteString("HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			_ = bw.Flush()
			return
		}
		u.record(req)
		a := u.answerFor(req)
		keep := keepAlive(req) && !a.close
		if err := a.write(bw, req.method == "HEAD", keep); err != nil || !keep {
			return
		}
	}
}

// keepAlive reports whether the client asked to keep the connection open.
func keepAlive(r *recorded) bool {
	conn := strings.ToLower(strings.Join(r.values("Connection"), ","))
	if r.proto == "HTTP/1.0" {
		return strings.Contains(conn, "keep-alive")
	}
	return !strings.Contains(conn, "close")
}

// readRequest reads one request; it answers 100 Continue itself when the
// client expects it, as a real server would.
func readRequest(br *bufio.Reader, bw *bufio.Writer) (*recorded, error) {
	line, err := readLine(br)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("malformed request line %q", line)
	}
	r := &recorded{line: line, method: parts[0], target: parts[1], proto: parts[2]}
	for {
		l, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if l == "" {
			break
		}
		name, value, _ := strings.Cut(l, ":")
		r.header = append(r.header, field{name, strings.Trim(value, " \t")})
	}
	if r.method == "PRI" {
		return r, nil
	}
	return r, readBody(r, br, bw)
}

// readBody reads the request body as its framing says.
func readBody(r *recorded, br *bufio.Reader, bw *bufio.Writer) error {
	te := strings.ToLower(strings.Join(r.values("Transfer-Encoding"), ","))
	r.chunked = strings.Contains(te, "chunked")
	var n int64
	if cl := r.values("Content-Length"); len(cl) > 0 && !r.chunked {
		var err error
		if n, err = strconv.ParseInt(cl[0], 10, 64); err != nil || n < 0 {
			return fmt.Errorf("bad Content-Length %q", cl[0])
		}
	}
	if (r.chunked || n > 0) && strings.EqualFold(strings.Join(r.values("Expect"), ""), "100-continue") {
		_, _ = bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if r.chunked {
		body, err := readChunked(br)
		r.body = body
		return err
	}
	r.body = make([]byte, n)
	_, err := io.ReadFull(br, r.body)
	return err
}

// readChunked decodes a chunked body (trailers are read and dropped).
func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		sizeText, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			for {
				if l, err := readLine(br); err != nil || l == "" {
					return body, err
				}
			}
		}
		chunk := make([]byte, size+2)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, err
		}
		body = append(body, chunk[:size]...)
	}
}

// readLine reads one CRLF- (or LF-) terminated line of at most 64 KiB.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errors.New("line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// chunk is one piece of a chunked answer, sent after a pause.
type chunk struct {
	after time.Duration
	data  []byte
}

// answer is one response, written byte for byte as described.
type answer struct {
	status   int
	reason   string
	header   []field
	body     []byte  // with Content-Length, unless chunks are set
	chunks   []chunk // chunked framing
	trailers []field
	close    bool // close the connection afterwards
}

// write sends the answer; a HEAD answer has the same headers and no body.
func (a *answer) write(bw *bufio.Writer, head, keep bool) error {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", a.status, a.reason)
	fmt.Fprintf(bw, "Date: %s\r\n", time.Now().UTC().Format(http.TimeFormat))
	for _, f := range a.header {
		fmt.Fprintf(bw, "%s: %s\r\n", f.name, f.value)
	}
	bodyless := a.status == 204 || a.status == 304 || a.status < 200
	switch {
	case a.chunks != nil:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case !bodyless:
		fmt.Fprintf(bw, "Content-Length: %d\r\n", len(a.body))
	}
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if head || bodyless {
		return bw.Flush()
	}
	if a.chunks == nil {
		bw.Write(a.body)
		return bw.Flush()
	}
	for _, c := range a.chunks {
		if c.after > 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
			time.Sleep(c.after)
		}
		fmt.Fprintf(bw, "%x\r\n%s\r\n", len(c.data), c.data)
	}
	bw.WriteString("0\r\n")
	for _, f := range a.trailers {
		fmt.Fprintf(bw, "%s: %s\r\n", f.name, f.value)
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// jsonAnswer is a JSON answer with Content-Length.
func jsonAnswer(status int, reason, body string) *answer {
	return &answer{status: status, reason: reason, header: []field{{"Content-Type", "application/json"}}, body: []byte(body)}
}

// answerFor picks the answer by method and path: the path's last segment
// under /api/v1/compat/ names a special answer; any other path gets a JSON
// answer whose id depends on the request target (in its RFC 3986 normal
// form, as equivalent targets name the same resource), so that a path
// changed into another shows in the answer too.
func (u *upstream) answerFor(r *recorded) *answer {
	switch r.method {
	case "TRACE":
		return traceAnswer(r)
	case "CONNECT":
		a := jsonAnswer(405, "Method Not Allowed", `{"status":false,"error_code":"METHOD_NOT_ALLOWED"}`)
		a.close = true
		return a
	case "OPTIONS":
		return &answer{status: 204, reason: "No Content", header: []field{{"Allow", "GET, HEAD, POST, DELETE, OPTIONS"}}}
	}
	path, _, _ := strings.Cut(r.target, "?")
	kind, special := strings.CutPrefix(path, "/api/v1/compat/")
	if !special {
		_, query, _ := strings.Cut(r.target, "?")
		sum := sha256.Sum256([]byte(normalizePath(path) + "?" + query))
		return jsonAnswer(200, "OK", `{"status":true,"data":{"message_id":"m-`+hex.EncodeToString(sum[:4])+`","state":"queued"}}`)
	}
	return u.specialAnswer(kind, r)
}

// specialAnswer is the answer for one /api/v1/compat/<kind> path.
func (u *upstream) specialAnswer(kind string, r *recorded) *answer {
	switch kind {
	case "no-type":
		return &answer{status: 200, reason: "OK", body: []byte("status=queued\n")}
	case "chunked":
		return &answer{status: 200, reason: "OK", header: []field{{"Content-Type", "application/json"}},
			chunks: []chunk{{0, []byte(`{"data":[`)}, {0, []byte(`{"id":1},`)}, {0, []byte(`{"id":2}`)}, {0, []byte(`]}`)}}}
	case "events":
		return &answer{status: 200, reason: "OK", header: []field{{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}},
			chunks: []chunk{{0, []byte("event: status\ndata: queued\n\n")}, {time.Second, []byte("event: status\ndata: delivered\n\n")}}}
	case "large":
		return &answer{status: 200, reason: "OK", header: []field{{"Content-Type", "application/octet-stream"}}, body: u.large}
	case "unauthorized":
		return jsonAnswer(401, "Unauthorized", `{"status":false,"error_code":"INVALID_API_KEY"}`)
	case "rate-limited":
		return &answer{status: 429, reason: "Too Many Requests", header: []field{{"Retry-After", "7"}}}
	case "no-content":
		return &answer{status: 204, reason: "No Content"}
	case "cached":
		if strings.Join(r.values("If-None-Match"), "") == `"v1"` {
			return &answer{status: 304, reason: "Not Modified", header: []field{{"ETag", `"v1"`}, {"Cache-Control", "max-age=60"}}}
		}
		a := jsonAnswer(200, "OK", `{"status":true}`)
		a.header = append(a.header, field{"ETag", `"v1"`})
		return a
	case "redirect":
		a := jsonAnswer(302, "Found", `{"status":true,"moved":true}`)
		a.header = append(a.header, field{"Location", "https://restlink23telecom.com/api/v1/sms/42"})
		return a
	case "trailers":
		return &answer{status: 200, reason: "OK", header: []field{{"Content-Type", "application/json"}, {"Trailer", "X-Checksum"}},
			chunks: []chunk{{0, []byte(`{"status":true}`)}}, trailers: []field{{"X-Checksum", "sha256=4f2a"}}}
	case "gzip":
		return u.gzipAnswer()
	case "negotiated":
		if strings.Contains(strings.Join(r.values("Accept-Encoding"), ","), "gzip") {
			return u.gzipAnswer()
		}
		return &answer{status: 200, reason: "OK", body: u.plain, header: []field{{"Content-Type", "application/json"}, {"Vary", "Accept-Encoding"}}}
	}
	return jsonAnswer(404, "Not Found", `{"status":false,"error_code":"NOT_FOUND"}`)
}

// gzipAnswer is the compressed JSON answer.
func (u *upstream) gzipAnswer() *answer {
	return &answer{status: 200, reason: "OK", body: u.gz, header: []field{
		{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}, {"Vary", "Accept-Encoding"}}}
}

// traceAnswer echoes the request as RFC 9110 describes TRACE: what a
// forwarded TRACE shows the client is everything the proxy added.
func traceAnswer(r *recorded) *answer {
	var b strings.Builder
	b.WriteString(r.line + "\r\n")
	for _, f := range r.header {
		b.WriteString(f.name + ": " + f.value + "\r\n")
	}
	return &answer{status: 200, reason: "OK", header: []field{{"Content-Type", "message/http"}}, body: []byte(b.String())}
}
