package restlink

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/23telecom/restlink-sidecar/module/policy"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// Metric label values never come from request input: workspace names come
// from the config, and a request refused before its workspace was known
// counts under workspace "(none)", which is not a valid workspace name.
const noWorkspace = "(none)"

const namespace = "restlink"

// workspaceStats are one workspace's counters. They are created with the
// workspace and handed on to the workspace of the same name in each new
// snapshot of the same config, so that they count on across reloads; the
// collector reads them at scrape time. Updating one is an atomic add.
type workspaceStats struct {
	requests        [6]atomic.Uint64 // answers by status class; index status/100
	upstreamLatency histogram
	keyFailovers    atomic.Uint64
	keyLoadFailures atomic.Uint64
	breakerChanges  [3]atomic.Uint64 // index: the gobreaker.State entered
	upstreamErrors  [len(upstreamFailures)]atomic.Uint64
	verifications   [len(verdicts)]atomic.Uint64
	demotions       [len(demotionReasons)]atomic.Uint64
}

// demotionReasons are the upstream error codes a key is demoted for, in the
// order of workspaceStats.demotions.
var demotionReasons = [...]string{"INVALID_API_KEY", "API_KEY_INACTIVE", "API_KEY_EXPIRED", "SIGNATURE_REQUIRED", "INVALID_SIGNATURE"}

// countVerification counts a probe's verdict.
func (s *workspaceStats) countVerification(result string) {
	countIn(s.verifications[:], verdicts[:], result)
}

// countDemotion counts a key demoted for reason.
func (s *workspaceStats) countDemotion(reason string) {
	countIn(s.demotions[:], demotionReasons[:], reason)
}

// countIn adds one to the counter of label in labels.
func countIn(counters []atomic.Uint64, labels []string, label string) {
	for i, l := range labels {
		if l == label {
			counters[i].Add(1)
		}
	}
}

// countUpstreamFailure counts a failed round trip by its reason.
func (s *workspaceStats) countUpstreamFailure(reason string) {
	countIn(s.upstreamErrors[:], upstreamFailures[:], reason)
}

// countRequest counts an answered request under its status class.
func (s *workspaceStats) countRequest(status int) {
	if class := status / 100; class >= 1 && class <= 5 {
		s.requests[class].Add(1)
	}
}

// tenantStats are the send counters of one policy subject (a tenant, or
// "@" and a workspace for requests that named no tenant); like
// workspaceStats, they count on across reloads.
type tenantStats struct {
	decisions  [len(policyRules)][2]atomic.Uint64 // [rule][0: refused, 1: would refuse (shadow)]
	recipients atomic.Uint64                      // forwarded and accepted
	segments   atomic.Uint64
	costMicros atomic.Uint64 // summary.total_cost of accepted sends, in millionths
	currency   atomic.Pointer[string]
	sending    atomic.Bool // has sent (or been refused) since start: shown in status
}

// policyRules are the rules a decision can name, in the order of
// tenantStats.decisions.
var policyRules = [...]string{policy.RuleBody, policy.RuleMaxRecipients, policy.RuleCountries, policy.RuleDenyPrefixes,
	policy.RuleRate, policy.RuleDailySegments, policy.RulePerRecipient}

// countDecision counts a refusal (or, shadow, a would-be refusal) by rule.
func (s *tenantStats) countDecision(rule string, shadow bool) {
	if s == nil {
		return
	}
	s.sending.Store(true)
	i := 0
	if shadow {
		i = 1
	}
	for r, name := range policyRules {
		if name == rule {
			s.decisions[r][i].Add(1)
		}
	}
}

// addCost adds the cost of an accepted send.
func (s *tenantStats) addCost(cost float64, currency string) {
	s.sending.Store(true)
	if cost > 0 {
		s.costMicros.Add(uint64(math.Round(cost * 1e6)))
	}
	if currency == "" {
		currency = unnamedCurrency
	}
	if c := s.currency.Load(); c == nil || *c != currency {
		s.currency.Store(&currency)
	}
}

// unnamedCurrency labels costs whose answer names no currency: restlink's
// send answer does not; it is the account's currency.
const unnamedCurrency = "account"

// configStats are the counters of one live config that belong to no
// workspace. They live as long as the live config.
type configStats struct {
	unrouted   workspaceStats // requests refused before a workspace was chosen
	rejections [len(ErrorCodes)]atomic.Uint64
	reloads    [2]atomic.Uint64 // index: reloadSucceeded, reloadFailed
}

// Indexes of configStats.reloads.
const (
	reloadSucceeded = iota
	reloadFailed
)

// countRejection counts a sidecar error by its code.
func (s *configStats) countRejection(code ErrorCode) {
	if i, ok := errorCodeIndex[code]; ok {
		s.rejections[i].Add(1)
	}
}

// errorCodeIndex maps each code to its place in ErrorCodes; built once.
var errorCodeIndex = func() map[ErrorCode]int {
	m := make(map[ErrorCode]int, len(ErrorCodes))
	for i, c := range ErrorCodes {
		m[c] = i
	}
	return m
}()

// latencyBuckets are the upper bounds, in seconds, of the upstream latency
// histogram: Prometheus' default buckets.
var latencyBuckets = [...]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// histogram is a lock-free latency histogram: a counter per bucket and the
// sum. It takes about a hundred bytes, where a prometheus.Histogram child
// with its label values takes well over a kilobyte: it matters at 10,000
// workspaces.
type histogram struct {
	buckets  [len(latencyBuckets) + 1]atomic.Uint64 // per latencyBuckets, then +Inf; not cumulative
	sumNanos atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s, i := d.Seconds(), 0
	for i < len(latencyBuckets) && s > latencyBuckets[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNanos.Add(uint64(max(d, 0)))
}

// metric returns the histogram's current values as a metric.
func (h *histogram) metric(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	var counts [len(latencyBuckets) + 1]uint64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
	}
	return constHistogram(desc, counts, time.Duration(h.sumNanos.Load()), labels...)
}

// constHistogram makes a histogram metric of a histogram's bucket counts
// (not cumulative, +Inf last) and sum.
func constHistogram(desc *prometheus.Desc, counts [len(latencyBuckets) + 1]uint64, sum time.Duration, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(latencyBuckets))
	var cumulative uint64
	for i, le := range latencyBuckets {
		cumulative += counts[i]
		buckets[le] = cumulative
	}
	return prometheus.MustNewConstHistogram(desc, cumulative+counts[len(latencyBuckets)], sum.Seconds(), buckets, labels...)
}

// The metrics' descriptions. Label values come from the config only.
var (
	descUpstreamLatency = newDesc("upstream_duration_seconds", "Time from sending a request upstream to its response headers, all key attempts included, by workspace.", "workspace")
	descBreakerState    = newDesc("breaker_state", "Circuit breaker state by workspace: 0 closed, 1 half-open, 2 open.", "workspace")
	descKeyFailovers    = newDesc("key_failovers_total", "Requests sent again with the next key after the upstream refused a key with 401, by workspace.", "workspace")
	descRequests        = newDesc("requests_total", "Requests handled, by workspace and status class of the answer (1xx-5xx).", "workspace", "class")
	descKeyLoadFailures = newDesc("key_load_failures_total", "Key sources that could not be read on a reload (the last good key is kept if there is one), by workspace.", "workspace")
	descKeyAge          = newDesc("key_age_seconds", "Seconds since the active key of each workspace was loaded.", "workspace")
	descBreakerChanges  = newDesc("breaker_transitions_total", "Circuit breaker state changes, by workspace and new state.", "workspace", "state")
	descReloads         = newDesc("config_reloads_total", "Config and key reloads that changed something (success) or were rejected (failure).", "result")
	descRejections      = newDesc("rejections_total", "Requests answered with a sidecar error, by error_code.", "error_code")
	descVerifications   = newDesc("key_verifications_total", "Probes of key values, by workspace and verdict: valid, invalid, inconclusive (retried).", "workspace", "result")
	descDemotions       = newDesc("key_demotions_total", "Keys tried last after the upstream refused them (or a probe found them invalid), by workspace and the upstream's error_code.", "workspace", "reason")
	descDecisions       = newDesc("policy_decisions_total", "Sends the send policy refused (outcome refused) or would have refused in shadow mode (outcome would_refuse), by tenant and rule.", "tenant", "rule", "outcome")
	descRecipients      = newDesc("sms_recipients_total", "Recipients of sends the upstream accepted, by tenant.", "tenant")
	descSegments        = newDesc("sms_segments_total", "SMS segments of sends the upstream accepted, by tenant.", "tenant")
	descCost            = newDesc("sms_cost_total", "Cost of sends the upstream accepted, from its summary.total_cost, by tenant and currency (account: the account's, unnamed).", "tenant", "currency")
	descStoreUp         = newDesc("store_available", "1 while the shared store (Redis) answers, 0 while the sidecar serves from its memory (per on_error); absent without Redis.")
	descStoreFailures   = newDesc("store_failures_total", "Calls to the shared store (Redis) that failed as unavailable, probes included.")
	descStoreOutages    = newDesc("store_outages_total", "Times the shared store (Redis) became unavailable.")
	descRecordsDropped  = newDesc("idempotency_records_dropped_total", "Completed idempotency records dropped from this sidecar's memory before their ttl, the oldest first, to stay under idempotency.max_records.")
	descUpstreamErrors  = newDesc("upstream_failures_total", "Round trips to the upstream that failed, by workspace and reason: connect (not sent), lost (the connection failed after sending), timeout, truncated (the answer was cut short).", "workspace", "reason")
)

// newDesc describes a metric of the sidecar's namespace.
func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
}

// collector exports the sidecar's metrics from the live configs it is
// handed, reading their counters at scrape time. Caddy gives each loaded
// Caddy config its own registry; the first handler provisioned with a
// registry registers a collector there, and every handler adds its live
// config to that collector.
type collector struct {
	mu      sync.Mutex
	configs []*liveConfig
}

// registerMetrics adds lc to the sidecar's collector in reg, registering
// one if reg has none yet.
func registerMetrics(reg prometheus.Registerer, lc *liveConfig) error {
	c := new(collector)
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return err
		}
		if c, _ = already.ExistingCollector.(*collector); c == nil {
			return errors.New("another collector holds the restlink metric names")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, have := range c.configs {
		if have == lc {
			return nil
		}
	}
	c.configs = append(c.configs, lc)
	return nil
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descUpstreamLatency, descBreakerState, descBreakerChanges,
		descKeyFailovers, descKeyLoadFailures, descKeyAge, descReloads, descRejections, descUpstreamErrors,
		descVerifications, descDemotions, descDecisions, descRecipients, descSegments, descCost,
		descStoreUp, descStoreFailures, descStoreOutages, descRecordsDropped} {
		ch <- d
	}
	for _, d := range webhookDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Workspaces of the same name in
// two config files are summed into one series (their breaker state is the
// worse of the two).
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	configs := append([]*liveConfig(nil), c.configs...)
	c.mu.Unlock()

	now := time.Now()
	var sc scrape
	var recordsDropped uint64
	storeShown := false    // several config files: the first one's Redis is shown
	webhooksShown := false // and the first one's webhooks
	for _, lc := range configs {
		snap := lc.current.Load()
		if f, ok := snap.store.(*store.Fallback); ok && !storeShown {
			storeShown = true
			st := f.Status()
			up := 0.0
			if st.Available {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
			ch <- prometheus.MustNewConstMetric(descStoreFailures, prometheus.CounterValue, float64(st.Failures))
			ch <- prometheus.MustNewConstMetric(descStoreOutages, prometheus.CounterValue, float64(st.Outages))
		}
		recordsDropped += lc.memory.RecordsDropped()
		sc.add(noWorkspace, &lc.stats.unrouted, nil, 0)
		for _, ws := range snap.workspaces {
			keyAge := math.NaN()
			if k := activeKey(ws.keys); k != nil {
				keyAge = now.Sub(k.loadedAt).Seconds()
			}
			sc.add(ws.name, ws.stats, ws.breaker, keyAge)
		}
		for subject, ts := range snap.tenantStats {
			emitTenant(ch, subject, ts)
		}
		for i := range lc.stats.rejections {
			sc.rejections[i] += lc.stats.rejections[i].Load()
		}
		sc.reloads[reloadSucceeded] += lc.stats.reloads[reloadSucceeded].Load()
		sc.reloads[reloadFailed] += lc.stats.reloads[reloadFailed].Load()
		if !webhooksShown {
			webhooksShown = collectWebhooks(ch, lc, now)
		}
	}
	sc.emit(ch)
	ch <- prometheus.MustNewConstMetric(descRecordsDropped, prometheus.CounterValue, float64(recordsDropped))
}

// scrape accumulates one scrape's values, summed by workspace name.
type scrape struct {
	names      []string
	byName     map[string]*scraped
	rejections [len(ErrorCodes)]uint64
	reloads    [2]uint64
}

// scraped is one workspace's values in a scrape.
type scraped struct {
	requests        [6]uint64
	latency         [len(latencyBuckets) + 1]uint64
	latencySum      time.Duration
	keyFailovers    uint64
	keyLoadFailures uint64
	breakerChanges  [3]uint64
	upstreamErrors  [len(upstreamFailures)]uint64
	verifications   [len(verdicts)]uint64
	demotions       [len(demotionReasons)]uint64
	breakerState    gobreaker.State
	hasBreaker      bool
	keyAge          float64 // NaN: no usable key
}

func (sc *scrape) add(name string, s *workspaceStats, b *breaker, keyAge float64) {
	if sc.byName == nil {
		sc.byName = make(map[string]*scraped)
	}
	v := sc.byName[name]
	if v == nil {
		v = &scraped{keyAge: keyAge}
		sc.byName[name] = v
		sc.names = append(sc.names, name)
	} else if !math.IsNaN(keyAge) && !(keyAge >= v.keyAge) {
		v.keyAge = keyAge
	}
	for i := range s.requests {
		v.requests[i] += s.requests[i].Load()
	}
	for i := range s.upstreamLatency.buckets {
		v.latency[i] += s.upstreamLatency.buckets[i].Load()
	}
	v.latencySum += time.Duration(s.upstreamLatency.sumNanos.Load())
	v.keyFailovers += s.keyFailovers.Load()
	v.keyLoadFailures += s.keyLoadFailures.Load()
	for i := range s.breakerChanges {
		v.breakerChanges[i] += s.breakerChanges[i].Load()
	}
	sumInto(v.upstreamErrors[:], s.upstreamErrors[:])
	sumInto(v.verifications[:], s.verifications[:])
	sumInto(v.demotions[:], s.demotions[:])
	if b != nil {
		v.hasBreaker = true
		v.breakerState = max(v.breakerState, b.State())
	}
}

func (sc *scrape) emit(ch chan<- prometheus.Metric) {
	for _, name := range sc.names {
		v := sc.byName[name]
		for class := 1; class <= 5; class++ {
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(v.requests[class]), name, strconv.Itoa(class)+"xx")
		}
		if name == noWorkspace {
			continue
		}
		ch <- constHistogram(descUpstreamLatency, v.latency, v.latencySum, name)
		ch <- prometheus.MustNewConstMetric(descKeyFailovers, prometheus.CounterValue, float64(v.keyFailovers), name)
		ch <- prometheus.MustNewConstMetric(descKeyLoadFailures, prometheus.CounterValue, float64(v.keyLoadFailures), name)
		for state, n := range v.breakerChanges {
			if n > 0 {
				ch <- prometheus.MustNewConstMetric(descBreakerChanges, prometheus.CounterValue, float64(n), name, gobreaker.State(state).String())
			}
		}
		emitByLabel(ch, descUpstreamErrors, v.upstreamErrors[:], upstreamFailures[:], name)
		emitByLabel(ch, descVerifications, v.verifications[:], verdicts[:], name)
		emitByLabel(ch, descDemotions, v.demotions[:], demotionReasons[:], name)
		if v.hasBreaker {
			ch <- prometheus.MustNewConstMetric(descBreakerState, prometheus.GaugeValue, float64(v.breakerState), name)
		}
		if !math.IsNaN(v.keyAge) {
			ch <- prometheus.MustNewConstMetric(descKeyAge, prometheus.GaugeValue, v.keyAge, name)
		}
	}
	for i, code := range ErrorCodes {
		ch <- prometheus.MustNewConstMetric(descRejections, prometheus.CounterValue, float64(sc.rejections[i]), string(code))
	}
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(sc.reloads[reloadSucceeded]), "success")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(sc.reloads[reloadFailed]), "failure")
}

// sumInto adds counters to sums.
func sumInto(sums []uint64, counters []atomic.Uint64) {
	for i := range counters {
		sums[i] += counters[i].Load()
	}
}

// emitByLabel emits one counter series per label, for a workspace.
func emitByLabel(ch chan<- prometheus.Metric, desc *prometheus.Desc, values []uint64, labels []string, workspace string) {
	for i, label := range labels {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(values[i]), workspace, label)
	}
}

// emitTenant emits a policy subject's send metrics: decisions only where
// there were some, so that tenants that never sent add no series.
func emitTenant(ch chan<- prometheus.Metric, subject string, s *tenantStats) {
	if !s.sending.Load() {
		return
	}
	for r, rule := range policyRules {
		for i, outcome := range [...]string{"refused", "would_refuse"} {
			if n := s.decisions[r][i].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(descDecisions, prometheus.CounterValue, float64(n), subject, rule, outcome)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descRecipients, prometheus.CounterValue, float64(s.recipients.Load()), subject)
	ch <- prometheus.MustNewConstMetric(descSegments, prometheus.CounterValue, float64(s.segments.Load()), subject)
	if c := s.currency.Load(); c != nil {
		ch <- prometheus.MustNewConstMetric(descCost, prometheus.CounterValue, float64(s.costMicros.Load())/1e6, subject, *c)
	}
}
