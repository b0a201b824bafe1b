package restlink

import (
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
)

func TestLazyAgreesOnOneValue(t *testing.T) {
	var l lazy[workspaceStats]
	if l.peek() != nil {
		t.Fatal("a new lazy holds a value")
	}
	const n = 8
	got := make([]*workspaceStats, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = l.get(newWorkspaceStats) })
	}
	wg.Wait()
	for i, s := range got {
		if s == nil || s != got[0] || s != l.peek() {
			t.Fatalf("get %d returned %p; the first %p, the one kept %p", i, s, got[0], l.peek())
		}
	}
}

// TestWorkspaceStateIsMadeByItsFirstUse checks that a workspace's counters
// and breaker are made by its first request, not with the snapshot nor by
// the prober, and
// that a reload hands on what was made, and what was not yet, so that a
// request still served by the replaced snapshot counts where the new one
// shows it.
func TestWorkspaceStateIsMadeByItsFirstUse(t *testing.T) {
	h := benchHandler(t, benchUpstream(t).URL, 10)
	first := h.live.current.Load()
	// The prober verifies every key after start-up (10 a second): its
	// verdicts are counted apart, and make no workspace's counters.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		verified := 0
		for _, ws := range first.workspaces {
			if ws.verified.peek() != nil {
				verified++
			}
		}
		if verified == len(first.workspaces) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after start, verdicts on %d of %d workspaces' keys", verified, len(first.workspaces))
		}
	}
	for _, ws := range first.workspaces {
		if ws.stats.peek() != nil || ws.circuit.peek() != nil {
			t.Fatalf("workspace %s has counters or a breaker before any request", ws.name)
		}
	}
	w := &discardWriter{h: make(map[string][]string)}
	if err := h.ServeHTTP(w, benchRequest("tenant-3"), nil); err != nil || w.status != 200 {
		t.Fatalf("send: status %d, %v", w.status, err)
	}
	for _, ws := range first.workspaces {
		made := ws.stats.peek() != nil && ws.circuit.peek() != nil
		if made != (ws.name == "ws-3") {
			t.Fatalf("after a send by ws-3: workspace %s made its counters and breaker: %v", ws.name, made)
		}
	}
	counted := first.workspace("ws-3").stats.peek().requests[2].Load()
	// Only trouble makes the incident counters; those of every request
	// are all a workspace with traffic keeps (see workspaceStats).
	if first.workspace("ws-3").stats.peek().incidents.peek() != nil {
		t.Fatal("a send that succeeded made ws-3's incident counters")
	}
	if size := unsafe.Sizeof(workspaceStats{}); size > 160 {
		t.Fatalf("a workspace with traffic keeps %d bytes of counters, want at most 160", size)
	}

	reload := func(edit func(string) string) *snapshot {
		t.Helper()
		raw, err := os.ReadFile(h.live.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.live.path, []byte(edit(string(raw))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := h.live.reload(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		return h.live.current.Load()
	}
	second := reload(func(s string) string { return s + "  extra-tenant: ws-1\n" })
	if second == first {
		t.Fatal("the reload published no new snapshot")
	}
	if s, b := second.workspace("ws-3").stats.peek(), second.workspace("ws-3").circuit.peek(); s != first.workspace("ws-3").stats.peek() || b != first.workspace("ws-3").circuit.peek() {
		t.Fatal("the reload did not hand on ws-3's counters and breaker")
	}
	if n := second.workspace("ws-3").counters().requests[2].Load(); n != counted {
		t.Fatalf("ws-3 counts %d answers after the reload, %d before", n, counted)
	}
	// ws-5 is first used through the replaced snapshot.
	old := first.workspace("ws-5")
	if old.counters() != second.workspace("ws-5").stats.peek() || old.breaker() != second.workspace("ws-5").circuit.peek() {
		t.Fatal("counters or breaker made through the replaced snapshot are not the new snapshot's")
	}

	third := reload(func(s string) string { return s + "breaker:\n  open_timeout: 7m\n" })
	ws := third.workspace("ws-3")
	if ws.stats.peek() != first.workspace("ws-3").stats.peek() {
		t.Fatal("a breaker settings change dropped ws-3's counters")
	}
	if ws.circuit.peek() != nil {
		t.Fatal("a breaker settings change kept ws-3's breaker of the old settings")
	}
	if got := ws.breaker().settings.openTimeout.Minutes(); got != 7 {
		t.Fatalf("ws-3's new breaker has an open timeout of %v minutes, want 7", got)
	}
}
