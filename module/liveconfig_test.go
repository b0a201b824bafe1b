package restlink

import (
	"runtime/metrics"
	"testing"
	"time"
)

// TestLoadReleasesFreedMemory loads 10,000 workspaces, which allocates
// several times what it keeps, and checks that a collection follows and
// the heap pages it freed go back to the operating system, instead of
// staying with the process until the scavenger, paced over seconds, or
// later collections get to them.
func TestLoadReleasesFreedMemory(t *testing.T) {
	sample := []metrics.Sample{
		{Name: "/gc/cycles/forced:gc-cycles"},
		{Name: "/memory/classes/heap/free:bytes"}, // neither in use nor released
	}
	metrics.Read(sample)
	forcedBefore := sample[0].Value.Uint64()
	path := benchWorkspacesConfig(t, t.TempDir(), "http://127.0.0.1:1", 10000)
	benchHandlerOf(t, path, envOf())
	const most = 2 << 20 // 10 to 15 MiB right after the load
	deadline := time.Now().Add(5 * time.Second)
	for {
		metrics.Read(sample)
		forced, free := sample[0].Value.Uint64()-forcedBefore, sample[1].Value.Uint64()
		if forced > 0 && free <= most {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the load: %d forced collections, %d MiB of free heap kept; want a collection and at most %d MiB", forced, free>>20, most>>20)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
