package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// TestBackgroundRequestsArePaced: with upstream.rate_limit at 2/s, the
// sidecar's own requests at start-up (two key probes, and each
// workspace's price table and balance) take their slots in the account's
// bucket: no second holds more than the rate and its burst.
func TestBackgroundRequestsArePaced(t *testing.T) {
	fake := newMoneyFake(t, restlinktest.Options{})
	yaml := strings.Replace(moneyYAML, "  timeout: 10s\n", "  timeout: 10s\n  rate_limit: 2/s\n", 1)
	startSidecarWith(t, fake, yaml, nil)
	eventually(t, 10*time.Second, "the 2 probes and 4 price and balance reads", func() bool { return len(fake.Requests()) >= 6 })
	var at []time.Time
	for _, r := range fake.Requests() {
		at = append(at, r.Received)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		if n > 3 { // 2 a second, and a burst of 1
			t.Fatalf("%d requests within a second from %v (of %d): the rate limit of 2/s was not kept", n, at[i].Format(time.StampMilli), len(at))
		}
	}
}
