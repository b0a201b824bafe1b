package webhook

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEnqueue measures Enqueue with its fsync, from several
// goroutines at once (the handler's case: webhooks arrive concurrently),
// and reports throughput and the 99th percentile latency.
func BenchmarkEnqueue(b *testing.B) {
	for _, writers := range []int{1, 8, 32, 128} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			benchmarkEnqueue(b, writers)
		})
	}
}

func benchmarkEnqueue(b *testing.B, writers int) {
	sp, err := OpenSpool(b.TempDir(), SpoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	var (
		seq       atomic.Int64
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for next.Add(1) <= int64(b.N) {
				n := seq.Add(1)
				ev := &Event{
					Workspace:   "main",
					Type:        "delivery",
					ContentType: "application/json",
					Body:        fmt.Appendf(nil, `{"message_id":"api_%d","recipient":"+447700900123","sender_id":"Shop","status":"DELIVRD","status_code":"000","num_parts":1,"cost":0.0085,"timestamp":"2025-01-01T00:00:00Z"}`, n),
				}
				t0 := time.Now()
				if _, err := sp.Enqueue(ev, time.Hour); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	p99 := latencies[(len(latencies)*99)/100]
	if len(latencies) < 100 {
		p99 = latencies[len(latencies)-1]
	}
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkVerify measures the signature check of a typical delivery
// report with one and two (rotation) secrets; the matching secret is the
// last one, the worst case.
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"message_id":"api_42_1","recipient":"+447700900123","sender_id":"Shop","status":"DELIVRD","status_code":"000","num_parts":1,"cost":0.0085,"timestamp":"2025-01-01T00:00:00Z"}`)
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := []byte("0123456789abcdef0123456789abcdef")
	sig := sign(good, ts, body)
	for _, tc := range []struct {
		name    string
		secrets [][]byte
	}{
		{"secrets=1", [][]byte{good}},
		{"secrets=2", [][]byte{[]byte("an-older-secret-being-rotated-out"), good}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Verify(tc.secrets, ts, sig, body, now, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDedupKey measures the key of a delivery report, which parses
// the JSON body.
func BenchmarkDedupKey(b *testing.B) {
	body := []byte(`{"message_id":"api_42_1","recipient":"+447700900123","sender_id":"Shop","status":"DELIVRD","status_code":"000","num_parts":1,"cost":0.0085,"timestamp":"2025-01-01T00:00:00Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		EventID(DedupKey("main", "delivery", body))
	}
}
