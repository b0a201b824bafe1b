package alerts

// Stats is how delivery goes, for metrics and the status page.
type Stats struct {
	// Pending is the number of alerts not yet taken by the receiver,
	// the one being delivered included.
	Pending int
	// Delivered counts the alerts the receiver took since Open.
	Delivered int64
	// Attempts counts the POSTs that ended since Open, taken or not;
	// an attempt Close cancelled is not counted.
	Attempts int64
	// Failures counts the attempts the receiver did not take: an answer
	// other than 2xx, a network error, a timeout.
	Failures int64
	// LastError is the last failure: of an attempt, or of removing the
	// file of an alert delivered (which is then delivered again after
	// the next Open). Nil until something fails; it is not cleared by a
	// success. It never quotes the URL.
	LastError error
}

// Stats returns how delivery goes. It takes a lock and reads no file,
// so it is cheap enough for every scrape.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stats
	s.Pending = len(o.queue)
	return s
}
