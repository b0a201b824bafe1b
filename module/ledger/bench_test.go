package ledger

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReserve measures Reserve with its fsync from 32 goroutines at
// once (a sidecar's concurrent sends), and from one, and reports the
// fsyncs per reservation (group commit keeps it well under 1 under
// concurrency), the median and 99th percentile latency, and allocations.
// The ledger is in the test's temporary directory: set TMPDIR to measure
// another disk.
func BenchmarkReserve(b *testing.B) {
	for _, reservers := range []int{1, 32} {
		b.Run("reservers="+strconv.Itoa(reservers), func(b *testing.B) {
			benchmarkReserve(b, reservers)
		})
	}
}

func benchmarkReserve(b *testing.B, reservers int) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	syncs := l.w.syncs.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for range reservers {
		wg.Go(func() {
			var mine []time.Duration
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					break
				}
				r := send("s"+strconv.FormatInt(n, 10), "acme", 8_500, 8_500)
				t0 := time.Now()
				if err := l.Reserve(r); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(l.w.syncs.Load()-syncs)/float64(len(latencies)), "fsyncs/reserve")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkFsync measures the latency of one fsync on this machine's
// disk: a line the size of a reservation appended to a file, then
// synced, as a lone Reserve does. It reports the median and 99th
// percentile besides the mean (ns/op), to set beside Reserve's.
func BenchmarkFsync(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "fsync"+segmentExt), os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line, err := encodeLine(reserveLine{typeReserve, *send("s1", "acme", 8_500, 8_500)})
	if err != nil {
		b.Fatal(err)
	}
	var latencies []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := f.Write(line); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(t0))
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkEncodeLines: a send's two lines, its reservation and its
// settlement (one recipient, one message), as the ledger writes them.
func BenchmarkEncodeLines(b *testing.B) {
	r := send("s1", "acme", 8_500)
	r.Time = time.Now().UTC()
	r.Day, r.Month = "2026-12-05", "2026-12"
	s := charged("s1", 8_500)
	s.Time = r.Time
	b.ReportAllocs()
	for b.Loop() {
		if _, err := appendReserveLine(make([]byte, 0, lineCap), r); err != nil {
			b.Fatal(err)
		}
		if _, err := appendSettleLine(make([]byte, 0, lineCap), &s); err != nil {
			b.Fatal(err)
		}
	}
}
