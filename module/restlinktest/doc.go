// Package restlinktest provides a fake 23 Telecom restlink API for tests,
// the demo and benchmarks, in the manner of net/http/httptest. It answers
// as restlink's documentation says, so that code tested against it meets
// the real contract:
//
//   - authentication by X-API-Key, with disabled, expired and
//     IP-restricted keys, HMAC request signing (X-Timestamp, X-Signature)
//     with a five-minute window and replay refusal, and per-key
//     permissions (403 FORBIDDEN when one is missing);
//   - the endpoints under /api/v1: POST /sms/send with restlink's
//     validation order, segment count, cost, balance pre-check (402),
//     blocked countries and sandbox (sk_test_) keys; GET /sms/status/:id,
//     /sms/messages and /sms/stats; GET /user/balance, /user/pricing and
//     /user/payments; GET and PUT /user/webhooks, GET /user/webhooks/logs
//     and POST /user/webhooks/test; JWT-only endpoints refuse API keys;
//   - restlink's error body {"status": false, "error_code", "description"};
//   - an optional per-account rate limit (429 RATE_LIMIT_EXCEEDED, with no
//     Retry-After);
//   - outgoing webhooks signed as restlink signs them, with its timeout and
//     retry schedule (scaled for tests), simulated delivery reports, replays
//     and tampered deliveries;
//   - a record of every request received with the answer given, and fault
//     injection: delays, connections closed or reset, redirects, statuses,
//     the per-IP limiter's bare 429, the edge proxy's HTML 429, a send's
//     500 DB_ERROR, and the answers of restlink's degraded account cache
//     (balance unavailable, pricing [] with X-Sms-Gateway-Status) and of
//     an account in setup (pricing and payments {"status": false, …}).
//
// The fake is one restlink installation: workspaces belong to portal
// accounts (DefaultAccountID unless set), each account has a balance and a
// rate limit of its own, and each API key is bound to one workspace.
//
// # Money
//
// Money inside the fake is exact: integer micro-units (millionths of the
// currency), read and written by the fake's own decimal parser and
// formatter, never through a float64, and not module/money's, so that the
// fake checks the sidecar's arithmetic instead of sharing it. Amounts
// given to the fake (Options.PricePerSegment, SetBalance) are decimal
// text of at most 6 places. Amounts in its answers (summary.total_cost, a
// message's cost in its status, lists and delivery report, the stats'
// total_cost, the balance, a 402's balance and estimated_cost) are JSON
// numbers with the shortest exact decimal text: 0.0255, 12.5, 0. The
// stats' avg_cost_per_msg and delivery_rate stay float64 ratios, computed
// from the integer totals.
//
// # Prices and charges
//
// A workspace may have a price table (SetPrices), served by GET and POST
// /user/pricing in restlink's field names and formats: rates as JSON
// numbers, rate_start_date as YYYY.MM.DD HH:MM:SS in UTC, rate_end_date
// the sentinel 2100.01.01 00:00:00 while the rate is current. A workspace
// without one answers [] without any X-Sms-Gateway-Status header, a
// healthy empty table. An accepted recipient is charged its segments
// times the rate of the table entry whose dialcode is the longest prefix
// of its number among those current at the send (RateStart ≤ now <
// RateEnd, by the fake's clock); of several such entries with that
// dialcode, the highest rate; with none, Options.PricePerSegment. A
// send's summary.total_cost is the exact sum of its recipients' charges,
// and so is what the balance pre-check (402) compares with the balance
// and what an accepted live send takes from it. Sandbox sends answer the
// same cost as a preview (restlink previews with its cached rates, and
// the fake's table and price per segment are always at hand) and never
// touch the balance.
//
// # Delivery reports
//
// A message is "sent" until its delivery report: after a delay with
// Options.SimulateDelivery, or at once with Deliver. The report gives it
// a final status (DELIVRD; with Options.DeliveryStatus or Deliver also
// UNDELIV, REJECTD, EXPIRED or UNKNOWN; sandbox messages simulated are
// always DELIVRD, as restlink's sandbox reports) and, for a workspace
// with a delivery URL, sends the delivery webhook. Its cost, in the
// webhook and in the message's status and lists, is the message's charge
// for DELIVRD and UNKNOWN. restlink says only that a report's cost is
// the actual carrier cost and can be 0; the fake's choice is that
// UNDELIV, REJECTD and EXPIRED messages are not charged: they report a
// cost of 0 and their charge goes back to the account's balance. The
// stats count them as restlink's formulas say (UNKNOWN as pending), and
// their total_cost is the sum of the messages' costs.
//
// Charges is the fake's own account of every accepted message, what its
// send charged and what its report said, in micro-units: the figures a
// test compares the sidecar's usage records with.
//
// # Segments
//
// [Segments] counts a message's encoding and segments by restlink's
// documented rules: GSM-7 holds 160 septets in a single message and 153
// per part of a longer one, UCS-2 holds 70 UTF-16 code units and 67; one
// character outside GSM-7 makes the whole message UCS-2; the extension
// characters € ^ { } [ ] \ ~ | count as 2 septets each. GSM-7 is the
// GSM 03.38 basic table and its extension table. Where restlink is
// silent, the rules are these, and module/sms follows them too:
//
//   - form feed, in the extension table, is a GSM-7 character of 2
//     septets;
//   - in UCS-2, a character outside the Basic Multilingual Plane (most
//     emoji) is 2 UTF-16 code units, and a byte of invalid UTF-8 is read
//     as U+FFFD, 1 unit;
//   - above the single-message limit, parts are counted by units alone,
//     ceil(units/153) in GSM-7 and ceil(units/67) in UCS-2: an escape
//     sequence or a surrogate pair is never assumed to be moved to the
//     next part;
//   - an empty message is 0 segments.
//
// The count is written from these rules and the GSM 03.38 tables, not
// from module/sms, so that the fake checks the sidecar's policy instead
// of sharing its code; module/sms's tests require the two to agree.
package restlinktest
