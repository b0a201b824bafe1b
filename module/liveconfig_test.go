package restlink

import (
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// TestLoadReleasesFreedMemory loads 10,000 workspaces, which allocates
// several times what it keeps, and checks that a collection follows and
// the heap pages it freed go back to the operating system, instead of
// staying with the process until the scavenger, paced over seconds, or
// later collections get to them. A reload that finds nothing changed
// (the watcher's, every minute) is released too: it reads every key
// source again.
func TestLoadReleasesFreedMemory(t *testing.T) {
	path := benchWorkspacesConfig(t, t.TempDir(), "http://127.0.0.1:1", 10000)
	var h *Handler
	awaitRelease(t, "the load", func() { h = benchHandlerOf(t, path, envOf()) })
	for h.live.releasing.Load() { // the release after the consumers' first work
		time.Sleep(time.Millisecond)
	}
	before := h.live.current.Load()
	awaitRelease(t, "a reload that changed nothing", func() {
		if err := h.live.reload(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
	})
	if h.live.current.Load() != before {
		t.Fatal("the reload published a snapshot")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(raw, "  tenant-x: no-such-workspace\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	awaitRelease(t, "a rejected reload", func() {
		if err := h.live.reload(caddy.Context{}); err == nil {
			t.Fatal("a config naming a missing workspace was not rejected")
		}
	})
}

// awaitRelease runs work, and waits up to 5 s for a forced collection
// after it and for the free heap to be at most 2 MiB (10 to 15 MiB right
// after a load of 10,000 workspaces).
func awaitRelease(t *testing.T, what string, work func()) {
	t.Helper()
	sample := []metrics.Sample{
		{Name: "/gc/cycles/forced:gc-cycles"},
		{Name: "/memory/classes/heap/free:bytes"}, // neither in use nor released
	}
	metrics.Read(sample)
	forcedBefore := sample[0].Value.Uint64()
	work()
	const most = 2 << 20
	deadline := time.Now().Add(5 * time.Second)
	for {
		metrics.Read(sample)
		forced, free := sample[0].Value.Uint64()-forcedBefore, sample[1].Value.Uint64()
		if forced > 0 && free <= most {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after %s: %d forced collections, %d MiB of free heap kept; want a collection and at most %d MiB", what, forced, free>>20, most>>20)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveConfigHeapPerWorkspace: a live config of one workspace and key
// file per tenant keeps at most 900 bytes of heap a workspace (706, and
// 798 under the race detector, now); it kept 1,840, then 950-1,020, before
// two passes over its key, cache and routing structures made them
// smaller. BenchmarkLiveConfigHeap measures it at 10,000 workspaces.
func TestLiveConfigHeapPerWorkspace(t *testing.T) {
	const n = 4000
	path := benchWorkspacesConfig(t, t.TempDir(), benchUpstream(t).URL, n)
	perWorkspace := liveConfigHeap(t, path) / n
	t.Logf("%d bytes a workspace", perWorkspace)
	if perWorkspace > 900 {
		t.Errorf("a live config keeps %d bytes of heap a workspace, want at most 900", perWorkspace)
	}
}

// liveHeap is the heap in use after collections.
func liveHeap() int64 {
	for range 3 { // sync.Pool's caches go at the second collection
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
