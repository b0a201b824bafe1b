// Package webhook is the sidecar's engine for restlink's webhooks: it
// verifies a webhook's signature, spools the event durably on local disk
// before restlink is answered, and delivers it to the app's local
// receiver until the app takes it. Apps then hold no webhook secret and
// lose no event, even when they are down for longer than restlink's own
// short retry window (3 attempts in about 40 seconds).
//
// The package has three parts, used in this order by the HTTP handler
// that receives the webhooks:
//
//   - Verify checks the X-Webhook-Timestamp and X-Webhook-Signature
//     headers against the workspace's signing secrets.
//   - A Spool (a bbolt file, spool.db) holds pending events. Enqueue
//     returns only once the event is synced to disk, so a 2xx answered
//     after Enqueue is a promise kept across crashes. Events that could
//     not be delivered in time become dead letters: plain JSON files an
//     operator can list and replay while the sidecar runs.
//   - A Deliverer posts each pending event to its workspace's target,
//     retrying with capped exponential backoff, pausing only the
//     workspace whose app is failing.
//
// Delivery is at least once: an app can see the same event twice (after
// a crash, or a timeout on an attempt the app did process), and must use
// the X-Restlink-Event-Id header, stable across redeliveries and across
// sidecar replicas, as its idempotency key.
//
// The package logs nothing itself: callers observe it through the
// Deliverer's hooks and the Spool's Stats.
package webhook
