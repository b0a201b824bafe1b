// Package alerts is the sidecar's outbox of spend alerts: it delivers
// each alert (a tenant's spend reached a soft threshold or its budget)
// to one webhook URL, the alert receiver, at least once, across restarts
// and while the receiver is down.
//
// An Outbox is a directory of files, one per pending alert, named by the
// order it was added and its id (00000000000000000007.<id>.json) and
// holding the very JSON body that is POSTed. Add returns only once the
// alert is durable: its file is written to a temporary name, synced,
// renamed into place and the directory synced, so that a crash leaves
// either the whole file or a stray temporary one, which Open removes
// (the Add it belonged to never returned). Once the receiver takes an
// alert, its file is removed.
//
// One goroutine delivers the alerts, one POST at a time, in the order
// they were added. An alert the receiver does not take (an answer other
// than 2xx, a network error, a timeout) is retried, with the same body,
// after a backoff that doubles from MinBackoff to MaxBackoff, with
// jitter; the alerts behind it wait. There is one receiver, and what
// fails one alert (the receiver is down, overloaded, or refuses the
// sidecar) nearly always fails all of them: waiting keeps the order in
// which they were raised (a tenant's soft alert before its exhausted
// one) and probes a failing receiver with one request per backoff
// instead of one per pending alert. The price is that an alert the
// receiver refuses for good holds up the others, which shows as a
// growing Stats.Pending and Stats.Failures, and the reason in
// Stats.LastError.
//
// Delivery is at least once: a receiver can see an alert twice (after a
// crash between its answer and the removal of the file, or a timeout on
// an attempt it did process), and must de-duplicate on the id, which
// ID computes the same on every sidecar of a fleet. An Outbox itself
// ignores an Add of an id it has pending, or delivered since Open within
// RememberDelivered.
//
// The alert receiver's URL may hold a token: no error of the package
// quotes it. The package logs nothing itself: callers learn what Open
// found from Recovery, and how delivery goes from Stats.
package alerts
