package policy

import "time"

// Rules is the compiled send policy of one tenant. It is immutable and
// safe for concurrent use. A nil *Rules means no policy: the caller
// forwards sends unchecked.
//
// A caller applies Rules to a parsed Send in this order: Check (static
// rules); then, unless Check refused, Limits, charged through the store in
// one admission (not charged for a dry run); a store refusal becomes a
// Refusal through LimitRefusal. In shadow mode the caller forwards even a
// refused send; in a dry run it answers a send that passed with
// DryRunAnswer instead of forwarding it.
type Rules struct {
	shadow bool
	dryRun bool
	// maxRecipients is at most MaxRecipients.
	maxRecipients int
	// countries allowed; nil: all.
	countries *regionSet
	// denyPrefixes are sorted and prefix-free: no entry starts with
	// another, so that one binary search finds the only candidate.
	denyPrefixes []string
	rate         *window
	// dailySegments is the daily cap; 0: none.
	dailySegments int64
	perRecipient  *window
	budget        *Budget // nil: none
	// senders allowed, numeric ones in their E.164 form; nil: any (an
	// empty set allows none).
	senders senderSet
	// links is the link policy; nil: links to anywhere.
	links *linkPolicy
	// anomaly is the fraud signals; nil: none.
	anomaly *Anomaly
	// trustedNumbers is the path of the trusted-numbers file; "": none.
	trustedNumbers string
}

// regionSet is a set of regions, indexed by regionIndex.
type regionSet [26 * 26]bool

// has reports whether region is in the set; "" never is.
func (s *regionSet) has(region string) bool {
	i := regionIndex(region)
	return i >= 0 && s[i]
}

// window is a sliding-window limit.
type window struct {
	max int64
	per time.Duration
	// keyPrefix starts the store keys of the limit. It holds the window
	// length, so that a changed window starts a new count instead of
	// reading steps of another length.
	keyPrefix string
}

// Shadow reports whether the rules are in shadow mode: the caller decides,
// counts and reports every send, but forwards those the rules refuse.
func (r *Rules) Shadow() bool { return r.shadow }

// DryRun reports whether sends are answered locally with DryRunAnswer
// instead of being forwarded. The rules still decide; a dry run's limits
// are checked without being charged.
func (r *Rules) DryRun() bool { return r.dryRun }
