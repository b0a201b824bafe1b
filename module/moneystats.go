package restlink

import (
	"sync"
	"sync/atomic"

	"github.com/23telecom/restlink-sidecar/module/ledger"
)

// Reconciliation outcomes of delivery reports, as the metric labels them.
const (
	reconciled      = "reconciled"      // the message's cost moved its tenant's spend (or confirmed it)
	unknownMessage  = "unknown_message" // no sidecar of the fleet attributed the message
	reconcileFailed = "failed"          // the store or the ledger could not take it
)

// reconcileOutcomes are the outcomes in the order of moneyStats.reconciles.
var reconcileOutcomes = [...]string{reconciled, unknownMessage, reconcileFailed}

// moneyStats counts what the accounts of a live config did: spend by
// tenant, reconciliations and alerts. They are read at scrape time.
type moneyStats struct {
	mu      sync.Mutex
	tenants map[string]*tenantSpend
	alerts  map[alertCount]uint64

	reconciles          [len(reconcileOutcomes)]atomic.Uint64
	attributionFailures atomic.Uint64
}

// tenantSpend is what one tenant spent since start, in micro-units.
type tenantSpend struct {
	charged  int64 // what restlink answered for accepted sends
	reported int64 // what delivery reports said messages cost
	unknown  int64 // estimates kept for sends whose outcome is unknown
}

// alertCount names an alert counter.
type alertCount struct{ tenant, period, typ string }

// tenant returns the spend of a tenant, creating it. s.mu is held.
func (s *moneyStats) tenant(name string) *tenantSpend {
	if s.tenants == nil {
		s.tenants = make(map[string]*tenantSpend)
	}
	t := s.tenants[name]
	if t == nil {
		t = new(tenantSpend)
		s.tenants[name] = t
	}
	return t
}

// settled counts how a recorded send ended.
func (s *moneyStats) settled(c *sendCost, st ledger.Settlement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(c.tenant)
	switch st.Outcome {
	case ledger.Charged:
		t.charged += st.ChargedMicros
	case ledger.Unknown:
		t.unknown += int64(c.estimate)
	}
}

// reported counts a delivery report's cost for a tenant.
func (s *moneyStats) reported(tenant string, cost int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenant(tenant).reported += cost
}

// countAlert counts an alert raised.
func (s *moneyStats) countAlert(tenant, period, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alerts == nil {
		s.alerts = make(map[alertCount]uint64)
	}
	s.alerts[alertCount{tenant, period, typ}]++
}

// countReconcile counts a delivery report's reconciliation outcome.
func (s *moneyStats) countReconcile(outcome string) {
	for i, o := range reconcileOutcomes {
		if o == outcome {
			s.reconciles[i].Add(1)
		}
	}
}
