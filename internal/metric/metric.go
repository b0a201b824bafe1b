// Package metric holds what the sidecar's Caddy modules share to export
// their counters to Prometheus at scrape time: the restlink namespace, a
// lock-free latency histogram, and counting by label. It imports nothing
// of the sidecar.
package metric

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace starts the name of every metric of the sidecar.
const Namespace = "restlink"

// NewDesc describes a metric of the sidecar's namespace.
func NewDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
}

// CountIn adds one to the counter of label in labels, the counters being
// in the order of the labels.
func CountIn(counters []atomic.Uint64, labels []string, label string) {
	for i, l := range labels {
		if l == label {
			counters[i].Add(1)
		}
	}
}

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histograms: Prometheus' default buckets.
var LatencyBuckets = [...]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Counts are a histogram's bucket counts (per LatencyBuckets, then +Inf;
// not cumulative) and sum, read at one scrape; several histograms' counts
// add up into one.
type Counts struct {
	Buckets [len(LatencyBuckets) + 1]uint64
	Sum     time.Duration
}

// Histogram is a lock-free latency histogram: a counter per bucket and the
// sum. It takes about a hundred bytes, where a prometheus.Histogram child
// with its label values takes well over a kilobyte: it matters at 10,000
// workspaces.
type Histogram struct {
	buckets  [len(LatencyBuckets) + 1]atomic.Uint64 // per LatencyBuckets, then +Inf; not cumulative
	sumNanos atomic.Uint64
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) {
	s, i := d.Seconds(), 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNanos.Add(uint64(max(d, 0)))
}

// AddTo adds the histogram's current values to c.
func (h *Histogram) AddTo(c *Counts) {
	for i := range h.buckets {
		c.Buckets[i] += h.buckets[i].Load()
	}
	c.Sum += time.Duration(h.sumNanos.Load())
}

// Metric returns the histogram's current values as a metric.
func (h *Histogram) Metric(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	var c Counts
	h.AddTo(&c)
	return c.Metric(desc, labels...)
}

// Metric returns the counts as a histogram metric.
func (c *Counts) Metric(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(LatencyBuckets))
	var cumulative uint64
	for i, le := range LatencyBuckets {
		cumulative += c.Buckets[i]
		buckets[le] = cumulative
	}
	return prometheus.MustNewConstHistogram(desc, cumulative+c.Buckets[len(LatencyBuckets)], c.Sum.Seconds(), buckets, labels...)
}

// Register registers c in reg and returns it or, if a collector of the
// same type holds its metric names there already (another handler of the
// same Caddy config registered it), that one: each Caddy config has its own
// registry, and its handlers share one collector of each kind in it.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		return c, err
	}
	existing, ok := already.ExistingCollector.(C)
	if !ok {
		return c, errors.New("another collector holds the restlink metric names")
	}
	return existing, nil
}

// Names lists the names of the metrics c describes.
func Names(c prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	var names []string
	for d := range ch {
		_, after, _ := strings.Cut(d.String(), `fqName: "`)
		name, _, _ := strings.Cut(after, `"`)
		names = append(names, name)
	}
	return names
}

// Sources are what a collector reads at scrape time: one per handler
// sharing the collector, each added once. Safe for concurrent use.
type Sources[T comparable] struct {
	mu   sync.Mutex
	list []T
}

// Add adds v, unless it is there already.
func (s *Sources[T]) Add(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.list, v) {
		s.list = append(s.list, v)
	}
}

// List returns the sources, in the order they were added, after removing
// for good those gone reports (nil: none is removed).
func (s *Sources[T]) List(gone func(T) bool) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gone != nil {
		s.list = slices.DeleteFunc(s.list, gone)
	}
	return slices.Clone(s.list)
}
