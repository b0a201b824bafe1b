// Package ledger is the sidecar's durable record of spend: every send it
// forwards for a budgeted tenant, what restlink charged for it, and what
// the delivery reports later said it cost. It rebuilds each tenant's
// spend of the current day and month after a restart, and it is the
// file a platform team bills its tenants from (Usage).
//
// A ledger is a directory of segments, one per day (2026-12-05.jsonl,
// the day in the ledger's timezone when the records were written), each
// a file of JSON lines only ever appended to (save that Open cuts off a
// last line a crash left incomplete). A line is one record, with its
// "type" first:
//
//   - reserve: a send's estimate, per recipient, written before the send
//     is forwarded (Reservation);
//   - settle: how the send ended, charged, released or unknown, and each
//     message's share of the charge (Settlement);
//   - adjust: a delivery report's actual cost for one message and the
//     change it makes to the tenant's spend (Adjustment).
//
// Amounts are integer micro-units of the account's currency, never
// floats; times are RFC 3339 in UTC. No record holds a phone number.
//
// Reserve is write-ahead: it returns only once its record is synced, and
// concurrent reservations share one fsync (group commit: one goroutine
// writes whatever was added while it synced the previous batch). Settle
// and Adjust return at once; their records go to the file in order with
// the reservations, so they are durable once any later reservation has
// returned, and within 100 ms otherwise. A crash loses no charge: a
// reservation that no settlement follows still counts its estimate, and
// Open settles it as Unknown.
//
// Segments are plain append-only files, and not a bbolt database like
// the webhook spool, so that another process, the usage command, can
// read them while the sidecar runs: bbolt's exclusive file lock keeps
// every other process out while the writer has the file open. A reader
// needs no lock; it ignores a last line still being written. Segments of
// several sidecars are merged exactly, as each send lives in the ledger
// of the sidecar that forwarded it, and each delivery report in the
// ledger of the sidecar that received it. One process writes a
// directory: Open takes an exclusive flock on its lock file, so that two
// sidecars never share one.
//
// The package logs nothing itself: callers learn what Open recovered
// from Recovery, and whether the ledger still writes from Err.
package ledger
