package restlink

import (
	"sync"
	"sync/atomic"
)

// signalStats counts what the signal watch did, for the metrics.
type signalStats struct {
	failures atomic.Uint64 // store calls of the signals that failed
	lifts    atomic.Uint64 // quarantines lifted by operators through this sidecar

	mu     sync.Mutex
	alerts map[signalAlertCount]uint64
}

// signalAlertCount names a counter of signal alerts.
type signalAlertCount struct{ tenant, signal, typ string }

// countAlert counts a signal alert this sidecar raised.
func (s *signalStats) countAlert(tenant, signal, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alerts == nil {
		s.alerts = make(map[signalAlertCount]uint64)
	}
	s.alerts[signalAlertCount{tenant, signal, typ}]++
}
