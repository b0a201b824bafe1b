// Package pricing reads what restlink says about money: a workspace's
// price table (GET /user/pricing) and the account's balance (GET
// /user/balance). The sidecar estimates a send's cost from the table
// before it forwards the send, reserves that estimate against the
// tenant's budgets, and records it in the ledger; it shows the balance in
// its status and metrics.
//
// Its rules:
//
//   - Amounts are exact: rates and balances are read from their JSON text
//     with module/money, never through a float64.
//   - Every entry whose dialcode is a prefix of a recipient's number
//     applies to it, and among those whose rate is current
//     (rate_start_date ≤ now < rate_end_date, in UTC) the highest rate is
//     the recipient's: an estimate errs on the side of the budget. The
//     country field is not read: restlink does not document its format.
//   - A recipient's estimate is its segments times its rate: restlink
//     charges per segment.
//   - Degraded answers are told apart from real ones. A price table that
//     is an empty list (restlink's cache is degraded) is ErrDegraded, and
//     the setup answer {"status": false, …} is ErrNotReady; on these, as
//     on any error, the caller keeps its last good table. A balance marked
//     unavailable is Unavailable, not a zero balance.
//   - One bad entry does not cost the whole table: it is left out and
//     counted in Table.Skipped.
//
// It is a pure engine: it does no I/O and logs nothing. Looking up a rate
// costs one map lookup per digit of the number, whatever the table's
// size, and allocates nothing.
package pricing
