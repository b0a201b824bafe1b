package signals

import (
	"time"

	"github.com/23telecom/restlink-sidecar/internal/fieldhash"
)

// The modes of a quarantine.
const (
	// ModeEnforce: the tenant's sends to the country are refused.
	ModeEnforce = "enforce"
	// ModeShadow: they are logged and counted, and sent.
	ModeShadow = "shadow"
)

// Quarantine is a tenant's destination country held after a signal
// fired. It names no number and no text.
type Quarantine struct {
	// ID names the quarantine and the alert raised for it.
	ID      string `json:"id"`
	Tenant  string `json:"tenant"`
	Country string `json:"country"`
	// Signal and Mode are what fired and how the tenant's policy was set
	// then.
	Signal string `json:"signal"`
	Mode   string `json:"mode"`
	// Value, Threshold and Count are the Reading that fired.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Count     int64   `json:"count"`
	// Since and Until bound the quarantine.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// NoCountry is the country of a number the numbering plan places in no
// country.
const NoCountry = "ZZ"

// Key names a tenant's country among quarantines and counters.
func Key(tenant, country string) string { return tenant + "/" + country }

// New is the quarantine of a reading of tenant's traffic to country,
// from at for d.
func New(tenant, country, mode string, r Reading, at time.Time, d time.Duration) Quarantine {
	at = at.UTC().Truncate(time.Millisecond)
	return Quarantine{ID: id(tenant, country, r.Signal, at), Tenant: tenant, Country: country, Signal: r.Signal, Mode: mode,
		Value: r.Value, Threshold: r.Threshold, Count: r.Count, Since: at, Until: at.Add(d)}
}

// id is the hex of the first 16 bytes of the SHA-256 of the fields, each
// preceded by its length: every quarantine has its own.
func id(tenant, country, signal string, at time.Time) string {
	return fieldhash.ID(tenant, country, signal, at.Format(time.RFC3339Nano))
}
