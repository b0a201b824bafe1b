package restlink

import (
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/23telecom/restlink-sidecar/internal/metric"
	"github.com/23telecom/restlink-sidecar/module/store"
)

// The metrics' descriptions. Label values come from the config only.
var (
	descUpstreamLatency = metric.NewDesc("upstream_duration_seconds", "Time from sending a request upstream to its response headers, all key attempts included, by workspace.", "workspace")
	descBreakerState    = metric.NewDesc("breaker_state", "Circuit breaker state by workspace: 0 closed, 1 half-open, 2 open.", "workspace")
	descKeyFailovers    = metric.NewDesc("key_failovers_total", "Requests sent again with the next key after the upstream refused a key with 401, by workspace.", "workspace")
	descRequests        = metric.NewDesc("requests_total", "Requests handled, by workspace and status class of the answer (1xx-5xx).", "workspace", "class")
	descKeyLoadFailures = metric.NewDesc("key_load_failures_total", "Key sources that could not be read on a reload (the last good key is kept if there is one), by workspace.", "workspace")
	descKeyAge          = metric.NewDesc("key_age_seconds", "Seconds since the active key of each workspace was loaded.", "workspace")
	descKeyFileTime     = metric.NewDesc("key_file_modified_timestamp_seconds", "When the file of each workspace's active key was last written (Unix seconds): a restart does not reset it, so it dates the last rotation. Absent for keys from a variable or a literal value.", "workspace")
	descUsableKeys      = metric.NewDesc("workspace_keys", "Keys a workspace can send with (values in use and awaiting verification, demoted ones included); 0: its requests are answered 503 NO_USABLE_KEY.", "workspace")
	descBreakerChanges  = metric.NewDesc("breaker_transitions_total", "Circuit breaker state changes, by workspace and new state.", "workspace", "state")
	descReloads         = metric.NewDesc("config_reloads_total", "Config and key reloads that changed something (success) or were rejected (failure).", "result")
	descRejections      = metric.NewDesc("rejections_total", "Requests answered with a sidecar error, by error_code.", "error_code")
	descVerifications   = metric.NewDesc("key_verifications_total", "Verdicts on key values (probes, and in a fleet those taken from another sidecar), by workspace and verdict: valid, invalid, inconclusive (retried).", "workspace", "result")
	descDemotions       = metric.NewDesc("key_demotions_total", "Keys tried last after the upstream refused them (or a probe found them invalid), by workspace and the upstream's error_code.", "workspace", "reason")
	descDecisions       = metric.NewDesc("policy_decisions_total", "Sends the send policy refused (outcome refused) or would have refused in shadow mode (outcome would_refuse), by tenant and rule.", "tenant", "rule", "outcome")
	descRecipients      = metric.NewDesc("sms_recipients_total", "Recipients of sends the upstream accepted, by tenant.", "tenant")
	descSegments        = metric.NewDesc("sms_segments_total", "SMS segments of sends the upstream accepted, by tenant.", "tenant")
	descCost            = metric.NewDesc("sms_cost_total", "Cost of sends the upstream accepted, from its summary.total_cost, by tenant and currency (ledger.currency once set; account: the account's, unnamed).", "tenant", "currency")
	descStoreUp         = metric.NewDesc("store_available", "1 while the shared store (Redis) answers, 0 while the sidecar serves from its memory (per on_error); absent without Redis.")
	descStoreFailures   = metric.NewDesc("store_failures_total", "Calls to the shared store (Redis) that failed as unavailable, probes included.")
	descStoreOutages    = metric.NewDesc("store_outages_total", "Outages of the shared store (Redis): failures less than a minute apart are one outage.")
	descRecordsDropped  = metric.NewDesc("idempotency_records_dropped_total", "Completed idempotency records dropped from this sidecar's memory before their ttl, the oldest first, to stay under idempotency.max_records.")
	descRecordsMemory   = metric.NewDesc("idempotency_records_memory_bytes", "Memory this sidecar has mapped for the idempotency records it keeps in its memory, outside the Go heap (and so outside go_memstats_*); pages not yet written are not resident.")
	descUpstreamErrors  = metric.NewDesc("upstream_failures_total", "Round trips to the upstream that failed, by workspace and reason: connect (not sent), lost (the connection failed after sending), timeout, truncated (the answer was cut short).", "workspace", "reason")
)

// collector exports the sidecar's metrics from the live configs it is
// handed, reading their counters at scrape time. Caddy gives each loaded
// Caddy config its own registry; the first handler provisioned with a
// registry registers a collector there, and every handler adds its live
// config to that collector.
type collector struct {
	configs metric.Sources[*liveConfig]
}

// registerMetrics adds lc to the sidecar's collector in reg, registering
// one if reg has none yet.
func registerMetrics(reg prometheus.Registerer, lc *liveConfig) error {
	c, err := metric.Register(reg, new(collector))
	if err == nil {
		c.configs.Add(lc)
	}
	return err
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descUpstreamLatency, descBreakerState, descBreakerChanges,
		descKeyFailovers, descKeyLoadFailures, descKeyAge, descKeyFileTime, descUsableKeys, descReloads, descRejections, descUpstreamErrors,
		descVerifications, descDemotions, descDecisions, descRecipients, descSegments, descCost,
		descStoreUp, descStoreFailures, descStoreOutages, descRecordsDropped, descRecordsMemory} {
		ch <- d
	}
	for _, d := range moneyDescs {
		ch <- d
	}
	for _, d := range signalDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Workspaces of the same name in
// two config files are summed into one series (their breaker state is the
// worse of the two).
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	configs := c.configs.List(nil)

	now := time.Now()
	var sc scrape
	var recordsDropped uint64
	recordsMemory := 0
	storeShown := false // several config files: the first one's Redis is shown
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
		recordsMemory += lc.memory.RecordBytes()
		sc.add(noWorkspace, &lc.stats.unrouted, keyFacts{age: math.NaN(), fileModified: math.NaN()})
		for _, ws := range snap.workspaces {
			kf := keyFacts{age: math.NaN(), fileModified: math.NaN(), usable: len(ws.keys)}
			if k := activeKey(ws.keys); k != nil {
				kf.age = now.Sub(k.loadedAt()).Seconds()
				if k.source.kind() == sourceFile {
					kf.fileModified = float64(time.Unix(0, k.fileModified).Unix())
				}
			}
			v := sc.add(ws.name, ws.stats.peek(), kf)
			v.addBreaker(ws.breakerState())
			v.addVerifications(ws.verified.peek())
		}
		for subject, ts := range snap.tenantStats {
			emitTenant(ch, subject, ts)
		}
		emitMoney(ch, snap, now)
		emitSignals(ch, lc.signals, snap, now)
		for i := range lc.stats.rejections {
			sc.rejections[i] += lc.stats.rejections[i].Load()
		}
		sc.reloads[reloadSucceeded] += lc.stats.reloads[reloadSucceeded].Load()
		sc.reloads[reloadFailed] += lc.stats.reloads[reloadFailed].Load()
	}
	sc.emit(ch)
	ch <- prometheus.MustNewConstMetric(descRecordsDropped, prometheus.CounterValue, float64(recordsDropped))
	ch <- prometheus.MustNewConstMetric(descRecordsMemory, prometheus.GaugeValue, float64(recordsMemory))
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
	latency         metric.Counts
	keyFailovers    uint64
	keyLoadFailures uint64
	breakerChanges  [3]uint64
	upstreamErrors  [len(upstreamFailures)]uint64
	verifications   [len(verdicts)]uint64
	demotions       [len(demotionReasons)]uint64
	breakerState    gobreaker.State
	hasBreaker      bool
	keys            keyFacts
}

// keyFacts are what a scrape shows of a workspace's keys: the active key's
// age and its file's modification time (NaN: none), and how many keys it
// can use. Two config files' workspaces of one name show the younger key,
// and their keys summed.
type keyFacts struct {
	age, fileModified float64
	usable            int
}

// add sums a workspace's counters (nil: none counted yet) and key facts
// into the scrape, and returns its sums.
func (sc *scrape) add(name string, s *workspaceStats, kf keyFacts) *scraped {
	if sc.byName == nil {
		sc.byName = make(map[string]*scraped)
	}
	v := sc.byName[name]
	if v == nil {
		v = &scraped{keys: kf}
		sc.byName[name] = v
		sc.names = append(sc.names, name)
	} else {
		if !math.IsNaN(kf.age) && !(kf.age >= v.keys.age) {
			v.keys.age = kf.age
		}
		if !math.IsNaN(kf.fileModified) && !(kf.fileModified <= v.keys.fileModified) {
			v.keys.fileModified = kf.fileModified
		}
		v.keys.usable += kf.usable
	}
	if s == nil {
		return v
	}
	for i := range s.requests {
		v.requests[i] += s.requests[i].Load()
	}
	s.upstreamLatency.AddTo(&v.latency)
	if t := s.incidents.peek(); t != nil {
		v.keyFailovers += t.keyFailovers.Load()
		v.keyLoadFailures += t.keyLoadFailures.Load()
		for i := range t.breakerChanges {
			v.breakerChanges[i] += t.breakerChanges[i].Load()
		}
		sumInto(v.upstreamErrors[:], t.upstreamErrors[:])
		sumInto(v.demotions[:], t.demotions[:])
	}
	return v
}

// addVerifications adds a workspace's verdict counts (nil: none yet).
func (v *scraped) addVerifications(s *verificationStats) {
	if s != nil {
		sumInto(v.verifications[:], s[:])
	}
}

// addBreaker adds a workspace's breaker state: the scrape shows the worst
// of a name's breakers.
func (v *scraped) addBreaker(state gobreaker.State) {
	v.hasBreaker = true
	v.breakerState = max(v.breakerState, state)
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
		ch <- v.latency.Metric(descUpstreamLatency, name)
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
		if !math.IsNaN(v.keys.age) {
			ch <- prometheus.MustNewConstMetric(descKeyAge, prometheus.GaugeValue, v.keys.age, name)
		}
		if !math.IsNaN(v.keys.fileModified) {
			ch <- prometheus.MustNewConstMetric(descKeyFileTime, prometheus.GaugeValue, v.keys.fileModified, name)
		}
		ch <- prometheus.MustNewConstMetric(descUsableKeys, prometheus.GaugeValue, float64(v.keys.usable), name)
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
