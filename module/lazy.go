package restlink

import "sync/atomic"

// lazy holds a value made on its first use: a workspace that serves no
// request holds empty cells (a pointer to 8 bytes each) for its counters
// and its breaker, not the counters and the breaker (with 10,000
// workspaces, 4.4 MB of a 25 MB live heap). A lazy is shared by the
// snapshots whose workspaces share its value, so that a value made
// through one snapshot is seen through the others.
type lazy[T any] struct{ p atomic.Pointer[T] }

// peek returns the value, or nil if none was made yet.
func (l *lazy[T]) peek() *T { return l.p.Load() }

// get returns the value, making it with make on first use: concurrent
// first uses agree on one value.
func (l *lazy[T]) get(make func() *T) *T {
	if v := l.p.Load(); v != nil {
		return v
	}
	if v := make(); l.p.CompareAndSwap(nil, v) {
		return v
	}
	return l.p.Load()
}
