// Package store keeps the state that the sidecar's limits share: send
// policy counters, money budgets' period counters, idempotency records,
// the account pacing bucket, the signing replay guard, webhook
// de-duplication markers, the attributions of messages sent, and the
// fraud signals' tallies and holds. Memory keeps it in one process; Redis
// shares it across a fleet of sidecars.
// Every operation is atomic: racing requests, in one process or across a
// fleet, can never pass a limit together.
package store

import (
	"context"
	"errors"
	"time"
)

// Store is implemented by Memory, Redis and Fallback. Its methods are
// safe for concurrent use. A method that returns an error decided nothing
// and changed nothing that the caller must undo. (A Redis call that timed
// out may still have run on the server: it then kept a charge, or left an
// idempotency record in flight that later reads as unknown; both err on
// the side of sending less.)
type Store interface {
	// Admit decides a request's admission in one atomic step: its
	// idempotency claim (if any) and its limits (all or nothing).
	Admit(ctx context.Context, a Admission) (Decision, error)

	// Settle records what became of an admitted request: its limits are
	// kept or refunded, and its idempotency record completed, marked
	// unknown, or released for a retry.
	Settle(ctx context.Context, t Ticket, s Settlement) error

	// Usage reads the current value of counters without charging them,
	// for status pages: one value per limit, in order. Scope is the
	// Admission.Scope the limits are charged under.
	Usage(ctx context.Context, scope string, limits []Limit, now time.Time) ([]int64, error)

	// Adjust adds each adjustment's Delta (which may be negative) to its
	// period counter without checking any limit, and returns the counters'
	// values after it, in order. An adjustment whose period has ended by now
	// changes nothing (its value is returned as 0).
	//
	// As with a refund, a counter never goes below zero; a counter
	// adjusted twice in one call reads its value after both at both
	// places.
	Adjust(ctx context.Context, scope string, adjustments []Adjustment, now time.Time) ([]int64, error)

	// Reserve takes a slot in a pacing bucket (GCRA). It returns how long
	// the caller must wait before sending; ok is false when that wait
	// would exceed p.MaxWait, and then nothing is reserved and
	// retryAfter says when a slot within MaxWait is likely.
	Reserve(ctx context.Context, p Pace, now time.Time) (wait time.Duration, ok bool, retryAfter time.Duration, err error)

	// ClaimSecond returns the Unix second to sign a request with: the
	// earliest second at or after now not yet claimed under key. ok is
	// false when that second would be later than now+maxAhead; nothing
	// is claimed then. A claim is remembered for ttl.
	ClaimSecond(ctx context.Context, key string, now time.Time, maxAhead, ttl time.Duration) (second int64, ok bool, err error)

	// Attribute remembers attributions for ttl (at least 4 days in use).
	// Attributing a message again replaces what was remembered of it,
	// and its ttl.
	Attribute(ctx context.Context, attributions []Attribution, ttl time.Duration) error

	// Reconcile sets a remembered message's cost to cost in one atomic step
	// and returns its data and the cost it had before; found is false (and
	// nothing is stored) for a message it does not remember.
	Reconcile(ctx context.Context, messageID string, cost int64) (data []byte, previous int64, found bool, err error)

	Markers
	Tallies
	Holds

	// Close releases the store's resources.
	Close() error
}

// Markers are the de-duplication markers of a store: what the webhook
// receiver needs of it.
type Markers interface {
	// ClaimMarker claims a de-duplication marker. A new marker is
	// created pending, for pendingTTL; the caller then confirms it (the
	// event is safely stored) or releases it (it is not).
	ClaimMarker(ctx context.Context, key string, pendingTTL time.Duration) (MarkerState, error)
	// ConfirmMarker makes a claimed marker done, for ttl.
	ConfirmMarker(ctx context.Context, key string, ttl time.Duration) error
	// ReleaseMarker deletes a pending marker, so that the event may be
	// received again; a marker already done is kept.
	ReleaseMarker(ctx context.Context, key string) error
}

// ErrUnavailable wraps every error of a store that could not be reached or
// did not answer in time, so that callers can apply their on_error rule.
var ErrUnavailable = errors.New("store unavailable")

// Limit is one counter a request is charged against.
type Limit struct {
	// Key names the counter, e.g. "rate:acme". Limits of one Admission
	// must share a scope (see Admission.Scope).
	Key string
	// Cost is what the request adds: recipients, segments, 1, or money
	// in micro-units. A Cost of zero checks the limit without charging
	// it. Cost and Max must not exceed 2^53−1: a Redis store compares
	// them in Lua, whose numbers are exact only to 2^53.
	Cost int64
	// Max is the most the counter may hold within its window.
	Max int64
	// Window is the length of a sliding window, measured in 60 equal
	// steps: a charge counts until the step after it is a Window old.
	// Zero means the current UTC calendar day (or Period, if set).
	Window time.Duration
	// Period, when its Name is set, makes the limit a counter of that
	// period (Window must then be zero): a budget's day or month. The
	// name is part of the counter's key, so every period counts from
	// zero; a refusal's RetryAfter runs to the period's end.
	Period Period
}

// Period is a fixed period a counter counts in, such as a budget's day or
// month in the ledger's timezone.
//
// A period counter expires a day after Ends (periodLinger), so that
// late settlements still find it. Its Name must not contain a colon: in
// Redis it is part of the key, between the scope and the limit's key.
type Period struct {
	Name string    // names the period, e.g. "2026-12-05" or "2026-12"; part of the counter's key
	Ends time.Time // when the period ends: a refusal's RetryAfter runs to it, and the counter expires some time after it
}

// Adjustment is a change to a period counter: the one a Limit with the
// same Key and Period counts in, under the same scope. It reconciles a
// budget with delivery reports, or seeds a Memory store's budgets from a
// ledger after a restart.
type Adjustment struct {
	Key    string // the limit's key, e.g. "budget:acme:day"
	Period Period // the period counted in (a Name and an end are required)
	Delta  int64  // added to the counter; negative takes away (at most 2^53−1 either way)
}

// Attribution is what the sidecar remembers of one message it sent: an
// opaque record (Data) and the message's cost as currently recognized.
// It lets any sidecar of a fleet reconcile the message's delivery report.
type Attribution struct {
	MessageID string // the upstream's id of the message; must not be empty
	Data      []byte // who sent it, for the caller: the store only keeps it
	Cost      int64  // the message's cost as currently recognized; not negative
}

// Admission is what a request asks of the store before it is forwarded.
type Admission struct {
	// Scope groups the keys of one admission (the tenant): a Redis
	// Cluster keeps them in one slot. It must not be empty or contain
	// braces.
	Scope string
	// Idempotency, if not nil, is checked first: a request that repeats
	// a remembered one is answered from the record, and charges nothing.
	Idempotency *IdempotencyClaim
	// Limits are charged all together or not at all.
	Limits []Limit
	// Charge false decides without charging anything (a dry run).
	// Shadow mode charges: a request that would pass is charged, one
	// that would be refused is not (and is forwarded anyway).
	Charge bool
	// SharedOnly says the admission must be decided by the shared store:
	// a Fallback whose shared store is down or does not answer returns
	// an error wrapping ErrUnavailable instead of deciding in memory,
	// whatever its OnError mode (a budget divided among sidecars would
	// overspend). Memory and Redis ignore it.
	SharedOnly bool
	// Now is the time of the decision (required).
	Now time.Time
	// ChargeBuf and ValueBuf, when they have room (a capacity of at
	// least the number of limits with a Cost, and of Limits), hold an
	// admitted Ticket's Charges and the Decision's Values, which then
	// allocate nothing: a caller that admits often keeps them with its
	// request. Without room, the store allocates them. The Ticket and
	// Values share the buffers: they must not be given to another
	// admission while the Ticket may still be settled or the Values read.
	ChargeBuf []Charge
	ValueBuf  []int64
}

// IdempotencyClaim names a request by its idempotency key.
type IdempotencyClaim struct {
	Key      string   // scope, tenant and the app's Idempotency-Key
	BodyHash [32]byte // SHA-256 of the request body (and method and path)
	// TTL is how long the record lives from its claim; it must be
	// positive. Settle may give it a new TTL.
	TTL time.Duration
	// InFlightFor is how long an in-flight record stays in flight; after
	// it (the sidecar died mid-request), it reads as Unknown. Zero keeps
	// it in flight until its TTL ends.
	InFlightFor time.Duration
}

// Verdict is the outcome of an admission.
type Verdict int

// Verdicts.
const (
	// Admitted: the limits were charged (if Charge) and the idempotency
	// record, if any, is now in flight. The caller must Settle.
	Admitted Verdict = iota
	// Refused: limit Admitted.Refused would be exceeded; nothing was
	// charged and no record was created.
	Refused
	// Replay: a completed record with the same body exists (Record).
	Replay
	// InProgress: the same request is in flight.
	InProgress
	// KeyReused: the idempotency key was used with another body.
	KeyReused
	// OutcomeUnknown: an earlier attempt may or may not have been acted on.
	OutcomeUnknown
)

// Decision is the store's answer to an Admission.
type Decision struct {
	Verdict Verdict
	// Refused is the index in Admission.Limits of the first limit that
	// would be exceeded (Verdict Refused), with its current value and
	// how long until the request could pass.
	Refused    int
	Current    int64
	RetryAfter time.Duration
	// Record is the completed answer (Verdict Replay). It may be shared
	// between replays: read it, never modify it.
	Record *Record
	// Ticket settles an admitted request.
	Ticket Ticket
	// Values are, for an admission that was Admitted and charged
	// (Charge), each limit's counter value after the charge, in Limits
	// order: what a caller needs to see a budget threshold crossed. A
	// counter charged twice (a key listed twice) reads its value after
	// both charges at both places. Nil otherwise.
	Values []int64
}

// Ticket identifies what an admission charged and claimed. Only the
// store that issued it can settle it.
type Ticket struct {
	Scope       string
	Idempotency string   // record key; "" if none
	Charges     []Charge // what was charged, to refund

	issuer Store  // the store that issued the ticket
	claim  uint64 // owner token of the idempotency record
	own    uint64 // a Fallback's claim on its own copy of the record; 0: none
}

// Charge is one counter charge, precise enough to be refunded. Key and
// Field are in the issuing store's own terms.
type Charge struct {
	Key    string // the counter's storage key (Redis: day or period included)
	Field  string // the window step charged (Redis) or the period (Memory); "" otherwise
	Amount int64

	bucket int64       // the window step or UTC day charged (Memory)
	kind   counterKind // what kind of counter was charged (Memory)
}

// Settlement says what became of an admitted request.
type Settlement struct {
	// Refund reverses the ticket's charges: the upstream certainly did
	// not act on the request.
	Refund bool
	// Costs, when not nil, has one entry per Ticket.Charges: the final
	// amount of that charge (a send's actual cost replacing its
	// estimate). Each counter moves by Costs[i] − Charges[i].Amount, up
	// or down, without a limit check. As with a refund, a counter never
	// goes below zero, and a charge whose window step, day or period
	// counter is gone (expired, or refunded to nothing) has nothing to
	// move. Nil keeps the charges as Admit took them; Refund ignores
	// Costs. A cost must be between 0 and 2^53−1.
	Costs []int64
	// Outcome of the idempotency record.
	Outcome Outcome
	// Record is the answer to remember (Outcome Completed). The store
	// may keep it as it is: do not modify it afterwards.
	Record *Record
	// TTL of the record from Now (Completed or Unknown). Zero keeps the
	// expiry its claim set.
	TTL time.Duration
	// Now is the time of the settlement; zero means the current time.
	Now time.Time
}

// Outcome of an idempotency record.
type Outcome int

// Outcomes.
const (
	// Release deletes the record: a retry may be sent.
	Release Outcome = iota
	// Completed stores the answer for replays.
	Completed
	// Unknown marks the record so that retries are refused.
	Unknown
)

// Record is a remembered answer: its status, Content-Type and body, all
// a replay sends again.
type Record struct {
	Status      int
	ContentType string // "" if the answer had none
	Body        []byte
}

// Pace is a pacing bucket: a generic cell rate (GCRA) with reservation.
type Pace struct {
	Key string
	// Interval is the time between two requests at the sustained rate.
	// Zero or less means no pacing: every request goes at once.
	Interval time.Duration
	// Burst is how many requests may go at once; less than 1 means 1.
	Burst int64
	// MaxWait is the longest a request may wait for its slot.
	MaxWait time.Duration
}

// MarkerState is the state of a de-duplication marker.
type MarkerState int

// Marker states.
const (
	// MarkerNew: the marker was absent and is now claimed (pending).
	MarkerNew MarkerState = iota
	// MarkerPending: another claim is pending (not yet confirmed).
	MarkerPending
	// MarkerDone: the marker was confirmed.
	MarkerDone
)
