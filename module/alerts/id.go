package alerts

import "github.com/23telecom/restlink-sidecar/internal/fieldhash"

// ID returns the id of the alert of type typ (TypeSoft or
// TypeExhausted) about a tenant's period (PeriodDaily or PeriodMonthly)
// named periodName (such as "2026-12-05" or "2026-12"). Every sidecar of
// a fleet computes the same id for one tenant, period and threshold, so
// that a receiver which sees the alert from several sidecars, or twice
// from one, can keep just one.
//
// The id is the hex of the first 16 bytes of the SHA-256 of the four
// fields, each preceded by its length in bytes as a big-endian uint64,
// in the order of the arguments: fields that join to the same text ("ab"
// and "c", "a" and "bc") still give different ids. The format is fixed:
// sidecars of different versions must agree on it.
func ID(tenant, period, periodName, typ string) string {
	return fieldhash.ID(tenant, period, periodName, typ)
}
