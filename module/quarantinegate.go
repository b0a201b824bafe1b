package restlink

import (
	"time"

	"github.com/23telecom/restlink-sidecar/module/policy"
)

// quarantineRefusal returns the refusal of a send to a country its
// tenant's signals quarantined (nil: none), skipping trusted numbers.
func (lc *liveConfig) quarantineRefusal(snap *snapshot, subject string, rules *policy.Rules, send *policy.Send, now time.Time) *policy.Refusal {
	if rules.Anomaly() == nil || send == nil {
		return nil
	}
	for _, rc := range send.Recipients {
		country := countryOf(rc.Region)
		q, ok := lc.signals.quarantined(subject, country, now)
		if !ok || snap.trusted.trusts(rules.TrustedNumbers(), rc.Number) {
			continue
		}
		return policy.QuarantineRefusal(country, q.Signal, q.Until, now)
	}
	return nil
}
