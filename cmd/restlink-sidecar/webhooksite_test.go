package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/appreceiver"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// postSigned posts a delivery report for message n to the webhook site as
// restlink does: signed, on a new connection, given 5 s for the whole
// answer. It returns the status, 0 if none came.
func postSigned(bb *blackBox, n int, header http.Header) int {
	body := fmt.Appendf(nil, `{"message_id":"api_42_%d","recipient":"+447700900123","sender_id":"Shop","status":"DELIVRD","status_code":"000","num_parts":1,"cost":0.0085,"timestamp":"2026-11-23T10:00:00Z"}`, n)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, bb.hooks+"/hooks/main/delivery", bytes.NewReader(body))
	if err != nil {
		bb.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Timestamp", ts)
	req.Header.Set("X-Webhook-Signature", restlinktest.SignWebhook(webhookSecret, ts, body))
	for name, values := range header {
		req.Header[name] = values
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// slowBodies holds n connections from the address from to the webhook site
// until ctx ends: each sends a webhook's headers, then trickles its body a
// byte at a time, and connects again as soon as the site lets it go. It
// returns how many connections it made.
func slowBodies(ctx context.Context, t *testing.T, site, from string, n int) *atomic.Int64 {
	t.Helper()
	var made atomic.Int64
	var wg sync.WaitGroup
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Second}
	addr := strings.TrimPrefix(site, "http://")
	head := "POST /hooks/main/delivery HTTP/1.1\r\nHost: hooks.example.com\r\nContent-Type: application/json\r\n" +
		"X-Webhook-Timestamp: 1\r\nX-Webhook-Signature: sha256=00\r\nContent-Length: 4096\r\n\r\n"
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				conn, err := dialer.DialContext(ctx, "tcp", addr)
				if err != nil {
					continue
				}
				made.Add(1)
				go func() { <-ctx.Done(); conn.Close() }()
				if _, err := io.WriteString(conn, head); err == nil {
					tick := time.NewTicker(200 * time.Millisecond)
					for range tick.C {
						if _, err := conn.Write([]byte{'x'}); err != nil || ctx.Err() != nil {
							break
						}
					}
					tick.Stop()
				}
				conn.Close()
			}
		}()
	}
	t.Cleanup(wg.Wait)
	return &made
}

// TestWebhookSiteSlowStrangers: 140 connections from 127.0.0.2 that send
// a webhook's headers and then trickle its body, held and reconnecting for
// 30 s, cost restlink's events from 127.0.0.1 nothing: at least 95% of the
// signed events posted meanwhile are answered 2xx at their first attempt
// and delivered to the app. (Before, the strangers held every
// webhooks.max_concurrent slot and restlink's events were answered 503.)
func TestWebhookSiteSlowStrangers(t *testing.T) {
	app := appreceiver.New()
	t.Cleanup(app.Close)
	bb := startWebhookBox(t, app, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	made := slowBodies(ctx, t, bb.hooks, "127.0.0.2", 140)

	time.Sleep(time.Second) // let the strangers take what they can
	var posted, acknowledged int
	for n := 1; ctx.Err() == nil; n++ {
		posted++
		if status := postSigned(bb, n, nil); status == http.StatusOK {
			acknowledged++
		} else {
			t.Logf("event %d: %d", n, status)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	t.Logf("%d of %d signed events acknowledged; the strangers made %d connections", acknowledged, posted, made.Load())
	if posted < 50 || acknowledged*100 < posted*95 {
		t.Fatalf("%d of %d signed events acknowledged, want at least 95%%", acknowledged, posted)
	}
	wantEachOnce(t, app, acknowledged, 10*time.Second)
	if refused := bb.metric(`restlink_webhooks_refused_total{reason="client_limit"}`); refused == "" || refused == "0" {
		t.Errorf("no stranger was refused for client_limit: %q", refused)
	}
	if lines := strings.Count(bb.logs(), `"webhook refused"`); lines > 20 {
		t.Errorf("%d webhook refused lines in 30 s, want at most one per reason a minute", lines)
	}
}

// TestWebhookSiteRefusesWhatRestlinkNeverSends: a body with a
// Content-Encoding is refused 415 (it would reach the app without its
// encoding), and the site speaks no cleartext HTTP/2 (h2c).
func TestWebhookSiteRefusesWhatRestlinkNeverSends(t *testing.T) {
	app := appreceiver.New()
	t.Cleanup(app.Close)
	bb := startWebhookBox(t, app, "")
	if status := postSigned(bb, 1, http.Header{"Content-Encoding": {"gzip"}}); status != http.StatusUnsupportedMediaType {
		t.Errorf("a gzip-encoded webhook: %d, want 415", status)
	}
	if status := postSigned(bb, 2, http.Header{"Content-Encoding": {"identity"}}); status != http.StatusOK {
		t.Errorf("an identity-encoded webhook: %d, want 200", status)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(bb.hooks, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	// The HTTP/2 connection preface, then an empty SETTINGS frame.
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	// A server speaking HTTP/2 answers with its own SETTINGS frame (type
	// 4 in the frame header's fourth byte); an HTTP/1.x one refuses or
	// closes.
	answer, _ := io.ReadAll(conn)
	if len(answer) >= 4 && answer[3] == 4 {
		t.Errorf("the webhook site speaks h2c: it answered the preface with an HTTP/2 SETTINGS frame %q", answer[:min(len(answer), 20)])
	}
}
