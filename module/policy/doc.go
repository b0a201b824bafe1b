// Package policy decides whether an SMS send may leave the host: which
// destinations a tenant may send to, how many recipients one send may
// have, how fast and how much a tenant may send, how often one number may
// be sent to, and whether sends are only rehearsed (dry run).
//
// It is a pure engine: it does no I/O and logs nothing. The sidecar's
// handler compiles the config section once per config (Compile), parses
// each send (Policy.ParseSend), applies the static rules (Rules.Check),
// charges the dynamic limits through the store (Rules.Limits,
// Rules.LimitRefusal), and forwards or refuses.
//
// Phone numbers are personal data: no description, error or store key
// made here holds one.
package policy
