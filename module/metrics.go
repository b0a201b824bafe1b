package restlink

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Metric label values never come from request input: workspace names come
// from the config, and a request refused before its workspace was known
// counts under workspace "(none)", which is not a valid workspace name.
const noWorkspace = "(none)"

const namespace = "restlink"

// The sidecar's metrics, registered in Caddy's registry of each config that
// uses the module, so that Caddy's `metrics` handler serves them.
var metrics = struct {
	requests        *prometheus.CounterVec
	upstreamLatency *prometheus.HistogramVec
	breakerState    *prometheus.GaugeVec
	breakerChanges  *prometheus.CounterVec
	keyFailovers    *prometheus.CounterVec
	keyLoadFailures *prometheus.CounterVec
	reloads         *prometheus.CounterVec
	rejections      *prometheus.CounterVec
	keyAge          prometheus.Collector
}{
	requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "requests_total",
		Help: "Requests handled, by workspace and status class of the answer (1xx-5xx).",
	}, []string{"workspace", "class"}),
	upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "upstream_duration_seconds",
		Help:    "Time from sending a request upstream to its response headers, all key attempts included, by workspace.",
		Buckets: prometheus.DefBuckets,
	}, []string{"workspace"}),
	breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "breaker_state",
		Help: "Circuit breaker state by workspace: 0 closed, 1 half-open, 2 open.",
	}, []string{"workspace"}),
	breakerChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "breaker_transitions_total",
		Help: "Circuit breaker state changes, by workspace and new state.",
	}, []string{"workspace", "state"}),
	keyFailovers: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "key_failovers_total",
		Help: "Requests sent again with the next key after the upstream answered 401, by workspace.",
	}, []string{"workspace"}),
	keyLoadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "key_load_failures_total",
		Help: "Key sources that could not be read on a reload (the last good key is kept if there is one), by workspace.",
	}, []string{"workspace"}),
	reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "config_reloads_total",
		Help: "Config and key reloads that changed something (success) or were rejected (failure).",
	}, []string{"result"}),
	rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "rejections_total",
		Help: "Requests answered with a sidecar error, by error_code.",
	}, []string{"error_code"}),
	keyAge: keyAgeCollector{desc: prometheus.NewDesc(namespace+"_key_age_seconds",
		"Seconds since the active key of each workspace was loaded.", []string{"workspace"}, nil)},
}

// registerMetrics registers the sidecar's metrics in a Caddy config's
// registry; registering them again in the same registry is a no-op.
func registerMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		metrics.requests, metrics.upstreamLatency, metrics.breakerState, metrics.breakerChanges,
		metrics.keyFailovers, metrics.keyLoadFailures, metrics.reloads, metrics.rejections, metrics.keyAge,
	} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return err
		}
	}
	return nil
}

// workspaceMetrics are one workspace's series, resolved once per workspace
// so that a request does no label lookups.
type workspaceMetrics struct {
	requests        [6]prometheus.Counter // index: status / 100
	upstreamLatency prometheus.Observer
	keyFailovers    prometheus.Counter
}

var workspaceSeries sync.Map // workspace name -> *workspaceMetrics

// metricsFor returns the series of a workspace name.
func metricsFor(workspace string) *workspaceMetrics {
	if m, ok := workspaceSeries.Load(workspace); ok {
		return m.(*workspaceMetrics)
	}
	m := &workspaceMetrics{
		upstreamLatency: metrics.upstreamLatency.WithLabelValues(workspace),
		keyFailovers:    metrics.keyFailovers.WithLabelValues(workspace),
	}
	for class := 1; class <= 5; class++ {
		m.requests[class] = metrics.requests.WithLabelValues(workspace, strconv.Itoa(class)+"xx")
	}
	actual, _ := workspaceSeries.LoadOrStore(workspace, m)
	return actual.(*workspaceMetrics)
}

var noWorkspaceMetrics = metricsFor(noWorkspace)

// countRequest counts a handled request under its workspace and status.
func (m *workspaceMetrics) countRequest(status int) {
	if class := status / 100; class >= 1 && class <= 5 {
		m.requests[class].Inc()
	}
}

// forgetWorkspace drops the series of a workspace removed from the config.
func forgetWorkspace(workspace string) {
	workspaceSeries.Delete(workspace)
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		metrics.requests, metrics.upstreamLatency, metrics.breakerState, metrics.breakerChanges,
		metrics.keyFailovers, metrics.keyLoadFailures,
	} {
		v.DeletePartialMatch(prometheus.Labels{"workspace": workspace})
	}
}

var rejectionSeries = func() map[ErrorCode]prometheus.Counter {
	m := make(map[ErrorCode]prometheus.Counter, len(ErrorCodes))
	for _, c := range ErrorCodes {
		m[c] = metrics.rejections.WithLabelValues(string(c))
	}
	return m
}()

// observeBreaker records a breaker's new state.
func observeBreaker(workspace string, to gobreaker.State) {
	metrics.breakerState.WithLabelValues(workspace).Set(float64(to))
	metrics.breakerChanges.WithLabelValues(workspace, to.String()).Inc()
}

// keyAgeCollector reports, at scrape time, the age of each workspace's
// active key in every running config.
type keyAgeCollector struct{ desc *prometheus.Desc }

func (c keyAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c keyAgeCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	seen := make(map[string]bool)
	runtimes.Range(func(_, v any) bool {
		for _, ws := range v.(*runtime).current.Load().workspaces {
			var buf [maxKeysPerWorkspace]*key
			if keys := orderKeys(ws.keys, buf[:0]); len(keys) > 0 && !seen[ws.name] {
				seen[ws.name] = true
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, now.Sub(keys[0].loadedAt).Seconds(), ws.name)
			}
		}
		return true
	})
}
