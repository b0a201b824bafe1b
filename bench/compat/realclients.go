package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The client programs run by the "real clients" cases. Each takes
// URL METHOD BODY-FILE|- "Name: value"... and prints the answer as
// STATUS, HEADER and BODY (base64) lines.
const (
	pythonClient = `import base64, sys, http.client, urllib.error, urllib.parse, urllib.request
mode, url, method, body_path, *hdrs = sys.argv[1:]
body = open(body_path, 'rb').read() if body_path != '-' else None
headers = dict((k, v.strip()) for k, v in (h.split(':', 1) for h in hdrs))
if mode == 'urllib':
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=20)
    except urllib.error.HTTPError as e:
        resp = e
    status, items, data = resp.status, resp.headers.items(), resp.read()
else:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.request(method, u.path + ('?' + u.query if u.query else ''), body=body, headers=headers)
    resp = conn.getresponse()
    status, items, data = resp.status, resp.getheaders(), resp.read()
print('STATUS', status)
for k, v in items:
    print('HEADER %s: %s' % (k, v))
print('BODY', base64.b64encode(data).decode())
`
	nodeClient = `import { readFileSync } from 'node:fs';
const [url, method, bodyPath, ...hdrs] = process.argv.slice(2);
const headers = {};
for (const h of hdrs) { const i = h.indexOf(':'); headers[h.slice(0, i)] = h.slice(i + 1).trim(); }
const body = bodyPath === '-' ? undefined : readFileSync(bodyPath);
const resp = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(20000) });
const data = Buffer.from(await resp.arrayBuffer());
console.log('STATUS ' + resp.status);
resp.headers.forEach((v, k) => console.log('HEADER ' + k + ': ' + v));
console.log('BODY ' + data.toString('base64'));
`
	javaClient = `import java.io.*;
import java.net.*;
import java.nio.file.*;
import java.util.*;

public class Compat {
	public static void main(String[] a) throws Exception {
		HttpURLConnection c = (HttpURLConnection) URI.create(a[0]).toURL().openConnection();
		c.setRequestMethod(a[1]);
		c.setConnectTimeout(20000);
		c.setReadTimeout(20000);
		for (int i = 3; i < a.length; i++) {
			int j = a[i].indexOf(':');
			c.setRequestProperty(a[i].substring(0, j), a[i].substring(j + 1).trim());
		}
		if (!a[2].equals("-")) {
			c.setDoOutput(true);
			try (OutputStream out = c.getOutputStream()) { out.write(Files.readAllBytes(Paths.get(a[2]))); }
		}
		int status = c.getResponseCode();
		InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
		byte[] data = in == null ? new byte[0] : in.readAllBytes();
		System.out.println("STATUS " + status);
		for (Map.Entry<String, List<String>> e : c.getHeaderFields().entrySet()) {
			if (e.getKey() == null) continue;
			for (String v : e.getValue()) System.out.println("HEADER " + e.getKey() + ": " + v);
		}
		System.out.println("BODY " + Base64.getEncoder().encodeToString(data));
	}
}
`
)

// writeClientScripts puts the client programs into the work directory.
func (h *harness) writeClientScripts() error {
	for name, src := range map[string]string{"client.py": pythonClient, "client.mjs": nodeClient, "Compat.java": javaClient} {
		if err := os.WriteFile(filepath.Join(h.dir, name), []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// clientCall is one request made by a real client library.
type clientCall struct {
	method string
	path   string
	header []field // besides the identity and probe headers
	body   []byte
}

// headers returns every header the client is told to send.
func (c clientCall) headers(h *harness, t *target, probe string) []field {
	hs := append(t.identity(h.key, tenant), c.header...)
	return append(hs, field{probeHeader, probe})
}

// bodyArg writes the body to a file for a client program; "-" for none.
func (c clientCall) bodyArg(h *harness, probe string) (string, error) {
	if c.body == nil {
		return "-", nil
	}
	path := filepath.Join(h.dir, "body-"+probe)
	return path, os.WriteFile(path, c.body, 0o600)
}

// runProgram runs a client program that prints the line protocol.
func (h *harness) runProgram(tool string, args []string, call clientCall, t *target, probe string) *observation {
	if !h.has(tool) {
		return &observation{skipped: "no " + tool}
	}
	bodyPath, err := call.bodyArg(h, probe)
	if err != nil {
		return &observation{err: err}
	}
	args = append(args, t.baseURL()+call.path, call.method, bodyPath)
	for _, f := range call.headers(h, t, probe) {
		args = append(args, f.name+": "+f.value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = h.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	o := &observation{wait: time.Since(start)}
	if err != nil {
		o.err = fmt.Errorf("%s failed: %s", tool, lastLine(stderr.String(), err))
		return o
	}
	o.err = parseLineProtocol(out, o)
	return o
}

// lastLine is the last non-empty line of a program's error output.
func lastLine(s string, err error) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}

// parseLineProtocol reads STATUS, HEADER and BODY lines.
func parseLineProtocol(out []byte, o *observation) error {
	o.header, o.proto = http.Header{}, "HTTP/1.1"
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "STATUS":
			o.status, _ = strconv.Atoi(rest)
		case "HEADER":
			name, value, _ := strings.Cut(rest, ":")
			o.header.Add(name, strings.TrimSpace(value))
		case "BODY":
			var err error
			if o.body, err = base64.StdEncoding.DecodeString(rest); err != nil {
				return err
			}
		}
	}
	if o.status == 0 {
		return fmt.Errorf("client printed no status")
	}
	return sc.Err()
}

// python runs the Python client in mode "urllib" or "http.client".
func (h *harness) python(mode string, call clientCall) runFunc {
	return func(t *target, probe string) *observation {
		return h.runProgram("python3", []string{"client.py", mode}, call, t, probe)
	}
}

// node runs Node's built-in fetch.
func (h *harness) node(call clientCall) runFunc {
	return func(t *target, probe string) *observation {
		return h.runProgram("node", []string{"client.mjs"}, call, t, probe)
	}
}

// java runs HttpURLConnection (single-file source launch).
func (h *harness) java(call clientCall) runFunc {
	return func(t *target, probe string) *observation {
		return h.runProgram("java", []string{"Compat.java"}, call, t, probe)
	}
}

// curl runs curl with its defaults (which include Expect: 100-continue
// for bodies over 1 MiB).
func (h *harness) curl(call clientCall) runFunc {
	return func(t *target, probe string) *observation {
		if !h.has("curl") {
			return &observation{skipped: "no curl"}
		}
		hdrFile, bodyFile := filepath.Join(h.dir, "hdr-"+probe), filepath.Join(h.dir, "out-"+probe)
		args := []string{"-sS", "--max-time", "20", "-D", hdrFile, "-o", bodyFile}
		if call.body != nil {
			bodyPath, err := call.bodyArg(h, probe)
			if err != nil {
				return &observation{err: err}
			}
			args = append(args, "--data-binary", "@"+bodyPath)
		}
		for _, f := range call.headers(h, t, probe) {
			args = append(args, "-H", f.name+": "+f.value)
		}
		args = append(args, t.baseURL()+call.path)
		start := time.Now()
		out, err := exec.Command("curl", args...).CombinedOutput()
		o := &observation{wait: time.Since(start)}
		if err != nil {
			o.err = fmt.Errorf("curl: %s", lastLine(string(out), err))
			return o
		}
		return readCurlOutput(o, hdrFile, bodyFile, call.method)
	}
}

// readCurlOutput parses curl's header dump (the last, final answer) and
// reads the body it saved.
func readCurlOutput(o *observation, hdrFile, bodyFile, method string) *observation {
	hdr, err := os.ReadFile(hdrFile)
	if err != nil {
		o.err = err
		return o
	}
	resp, err := readFinal(bufio.NewReader(bytes.NewReader(hdr)), method)
	if err != nil {
		o.err = err
		return o
	}
	o.status, o.proto, o.header = resp.StatusCode, resp.Proto, resp.Header
	o.body, o.err = os.ReadFile(bodyFile)
	return o
}

// goClient sends the call with Go's default client settings (a fresh
// transport, so that no connection is shared across targets).
func (h *harness) goClient(call clientCall) runFunc {
	return func(t *target, probe string) *observation {
		var body io.Reader
		if call.body != nil {
			body = bytes.NewReader(call.body)
		}
		req, err := http.NewRequest(call.method, t.baseURL()+call.path, body)
		if err != nil {
			return &observation{err: err}
		}
		for _, f := range call.headers(h, t, probe) {
			req.Header.Add(f.name, f.value)
		}
		return doGo(&http.Client{Transport: &http.Transport{}, Timeout: ioTimeout}, req)
	}
}

// doGo runs one request with a Go client and reads the whole answer.
func doGo(client *http.Client, req *http.Request) *observation {
	defer client.CloseIdleConnections()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return &observation{err: err}
	}
	defer resp.Body.Close()
	o := &observation{}
	o.err = o.fill(resp)
	o.wait = time.Since(start)
	return o
}
