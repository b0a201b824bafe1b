package metric

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestHistogramIsCumulative: the exported buckets count every observation
// at or below their bound, the count includes +Inf, and histograms add up.
func TestHistogramIsCumulative(t *testing.T) {
	var a, b Histogram
	a.Observe(3 * time.Millisecond)  // le 0.005
	a.Observe(40 * time.Millisecond) // le 0.05
	b.Observe(20 * time.Second)      // +Inf only
	var c Counts
	a.AddTo(&c)
	b.AddTo(&c)
	var m dto.Metric
	if err := c.Metric(NewDesc("test_seconds", "test")).Write(&m); err != nil {
		t.Fatal(err)
	}
	h := m.GetHistogram()
	if h.GetSampleCount() != 3 {
		t.Errorf("count %d, want 3", h.GetSampleCount())
	}
	if got, want := h.GetSampleSum(), 20.043; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("sum %v, want %v", got, want)
	}
	want := map[float64]uint64{.005: 1, .01: 1, .025: 1, .05: 2, 10: 2}
	for _, bk := range h.GetBucket() {
		if n, ok := want[bk.GetUpperBound()]; ok && bk.GetCumulativeCount() != n {
			t.Errorf("bucket le %v: %d, want %d", bk.GetUpperBound(), bk.GetCumulativeCount(), n)
		}
	}
}

// twoNames describes two metrics.
type twoNames struct{ a, b *prometheus.Desc }

func (c *twoNames) Describe(ch chan<- *prometheus.Desc) { ch <- c.a; ch <- c.b }
func (c *twoNames) Collect(chan<- prometheus.Metric)    {}

// TestRegisterSharesOneCollector: the second handler of a registry gets
// the collector the first registered; a collector of another type holding
// the names is an error.
func TestRegisterSharesOneCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	newTwo := func() *twoNames { return &twoNames{NewDesc("a_total", "a"), NewDesc("b_total", "b")} }
	first, err := Register(reg, newTwo())
	if err != nil {
		t.Fatal(err)
	}
	second, err := Register(reg, newTwo())
	if err != nil || second != first {
		t.Fatalf("second registration: %p, %v; want the first, %p", second, err, first)
	}
	if names := Names(first); len(names) != 2 || names[0] != "restlink_a_total" || names[1] != "restlink_b_total" {
		t.Errorf("names %v", names)
	}
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "restlink_c_total", Help: "c"})
	if _, err := Register(reg, other); err != nil {
		t.Fatal(err)
	}
	if _, err := Register[*twoNames](reg, &twoNames{NewDesc("c_total", "c"), NewDesc("d_total", "d")}); err == nil {
		t.Error("a collector of another type holding the names was taken")
	}
}

// TestSources: each source is listed once, in order, and one reported gone
// is dropped for good.
func TestSources(t *testing.T) {
	var s Sources[int]
	for _, v := range []int{1, 2, 1, 3} {
		s.Add(v)
	}
	if got := s.List(nil); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("List(nil) = %v, want [1 2 3]", got)
	}
	if got := s.List(func(v int) bool { return v == 2 }); len(got) != 2 || got[1] != 3 {
		t.Errorf("without 2: %v", got)
	}
	if got := s.List(nil); len(got) != 2 {
		t.Errorf("2 came back: %v", got)
	}
}
