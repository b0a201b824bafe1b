package store

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/redistest"
)

// sendAdmission is the admission of a typical send: a tenant rate, a
// per-recipient limit and a daily segment limit, with an idempotency
// claim.
func sendAdmission(key string, now time.Time) Admission {
	return Admission{
		Scope:       "acme",
		Idempotency: &IdempotencyClaim{Key: key, BodyHash: [32]byte{1}, TTL: 24 * time.Hour, InFlightFor: time.Minute},
		Limits: []Limit{
			{Key: "rate:acme", Cost: 1, Max: 1 << 40, Window: time.Minute},
			{Key: "rcpt:+447700900123", Cost: 1, Max: 1 << 40, Window: time.Hour},
			{Key: "daily:acme", Cost: 2, Max: 1 << 40},
		},
		Charge: true,
		Now:    now,
	}
}

// idempotencyKeys returns n distinct keys, made before the timer runs.
func idempotencyKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "acme:order-" + strconv.Itoa(i)
	}
	return keys
}

// withBuffers gives admission a room for its charges and values, as the
// module's gate does.
func withBuffers(a Admission) Admission {
	a.ChargeBuf, a.ValueBuf = make([]Charge, 0, 8), make([]int64, 0, 8)
	return a
}

// BenchmarkMemoryAdmit: one uncontended admission with three limits and
// a new idempotency claim, in a store that has run a while: its record
// table and list have room (Go maps keep their size), so the benchmark
// measures the admission rather than their growth. (The tickets are never
// settled, so the admissions may share one room for their charges.)
func BenchmarkMemoryAdmit(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	keys := idempotencyKeys(b.N)
	ctx := context.Background()
	now := time.Now()
	a := withBuffers(sendAdmission("", now))
	tickets := make([]Ticket, b.N)
	for i := range b.N {
		a.Idempotency.Key = keys[i]
		d, err := m.Admit(ctx, a)
		if err != nil {
			b.Fatal(err)
		}
		tickets[i] = d.Ticket
	}
	for _, t := range tickets {
		if err := m.Settle(ctx, t, Settlement{Outcome: Release, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		a.Idempotency.Key = keys[i]
		if _, err := m.Admit(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAdmitSettle: an admission and its settlement, so that
// the store stays the same size.
func BenchmarkMemoryAdmitSettle(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	keys := idempotencyKeys(1024)
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	a := withBuffers(sendAdmission("", now))
	for i := range b.N {
		a.Idempotency.Key = keys[i%len(keys)]
		d, err := m.Admit(ctx, a)
		if err != nil || d.Verdict != Admitted {
			b.Fatal(d.Verdict, err)
		}
		if err := m.Settle(ctx, d.Ticket, Settlement{Outcome: Release, Refund: true, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAdmitComplete: an admission and its settlement as a
// send restlink answered, its answer kept for replays, in a store at its
// bound of records, so that each new record drops the oldest: a sidecar
// sending steadily with idempotency keys.
func BenchmarkMemoryAdmitComplete(b *testing.B) {
	const bound = 10_000
	m := NewMemory(MemoryOptions{})
	m.SetMaxRecords(bound)
	keys := idempotencyKeys(b.N + bound)
	body := []byte(`{"message_id":"api_42_1743667200123456789_a3f8b2c1d9e45f67","status":"queued","segments":1}`)
	ctx := context.Background()
	now := time.Now()
	a := withBuffers(sendAdmission("", now))
	send := func(key string) {
		a.Idempotency.Key = key
		d, err := m.Admit(ctx, a)
		if err != nil || d.Verdict != Admitted {
			b.Fatal(d.Verdict, err)
		}
		answer := &Record{Status: 202, ContentType: "application/json", Body: body}
		if err := m.Settle(ctx, d.Ticket, Settlement{Outcome: Completed, Record: answer, TTL: time.Hour, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	for _, key := range keys[b.N:] {
		send(key)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, key := range keys[:b.N] {
		send(key)
	}
}

// BenchmarkMemoryAdmitParallel: admissions of many tenants at once.
func BenchmarkMemoryAdmitParallel(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		scope := "tenant" + strconv.FormatInt(time.Now().UnixNano()%1000, 10)
		a := withBuffers(Admission{Scope: scope, Limits: []Limit{{Key: "rate", Cost: 1, Max: 1 << 40, Window: time.Minute}}, Charge: true, Now: now})
		for pb.Next() {
			if _, err := m.Admit(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMemoryReserve: one pacing reservation.
func BenchmarkMemoryReserve(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	ctx := context.Background()
	p := Pace{Key: "acct", Interval: time.Nanosecond, Burst: 1 << 40, MaxWait: time.Second}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, ok, _, err := m.Reserve(ctx, p, now); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// reportLatency reports the median and 99th percentile of per-call
// latencies.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRedisAdmit: one admission round trip to a loopback Redis
// (three limits and an idempotency claim).
func BenchmarkRedisAdmit(b *testing.B) {
	srv := redistest.Start(b)
	// A generous timeout: the benchmark measures latency, and on a
	// busy machine a call may exceed the production default.
	r := newRedis(b, RedisOptions{URL: srv.URL, Timeout: time.Second})
	keys := idempotencyKeys(b.N)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := r.Admit(ctx, sendAdmission(keys[i], start)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkRedisSend: what the store adds to one send on loopback: the
// admission, a pacing reservation and the settlement.
func BenchmarkRedisSend(b *testing.B) {
	srv := redistest.Start(b)
	// A generous timeout: the benchmark measures latency, and on a
	// busy machine a call may exceed the production default.
	r := newRedis(b, RedisOptions{URL: srv.URL, Timeout: time.Second})
	keys := idempotencyKeys(b.N)
	ctx := context.Background()
	pace := Pace{Key: "acct", Interval: time.Nanosecond, Burst: 1 << 40, MaxWait: time.Second}
	answer := &Record{Status: 202, Body: []byte(`{"message_id":"api_42_1743667200123456789_a3f8b2c1d9e45f67"}`)}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		d, err := r.Admit(ctx, sendAdmission(keys[i], start))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := r.Reserve(ctx, pace, start); err != nil {
			b.Fatal(err)
		}
		if err := r.Settle(ctx, d.Ticket, Settlement{Outcome: Completed, Record: answer, TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkMemoryRecordHeap measures the live heap a completed
// idempotency record holds in the memory store (heap-B/record), with a
// typical send's answer: 100,000 records, the default max_records.
func BenchmarkMemoryRecordHeap(b *testing.B) {
	const n = 100_000
	keys := idempotencyKeys(n)
	body := []byte(`{"message_id":"api_42_1743667200123456789_a3f8b2c1d9e45f67","status":"queued","segments":1}`)
	ctx := context.Background()
	liveHeap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var perRecord, offHeapPerRecord float64
	for range b.N {
		b.StopTimer()
		before := liveHeap()
		b.StartTimer()
		m := NewMemory(MemoryOptions{})
		now := time.Now()
		for _, key := range keys {
			d, err := m.Admit(ctx, Admission{Scope: "acme", Now: now,
				Idempotency: &IdempotencyClaim{Key: key, BodyHash: [32]byte{1}, TTL: time.Hour, InFlightFor: time.Minute}})
			if err != nil {
				b.Fatal(err)
			}
			answer := &Record{Status: 202, ContentType: "application/json", Body: slices.Clone(body)}
			if err := m.Settle(ctx, d.Ticket, Settlement{Outcome: Completed, Record: answer, TTL: time.Hour, Now: now}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		perRecord = float64(liveHeap()-before) / n
		offHeapPerRecord = float64(m.RecordBytes()) / n
		runtime.KeepAlive(m)
		b.StartTimer()
	}
	b.ReportMetric(perRecord, "heap-B/record")
	b.ReportMetric(offHeapPerRecord, "offheap-B/record")
}
