package store

import (
	"testing"
	"time"
)

func TestArithmetic(t *testing.T) {
	cases := []struct {
		name      string
		got, want int64
	}{
		{"floor_div_positive", floorDiv(119, 60), 1},
		{"floor_div_negative", floorDiv(-1, 60), -1},
		{"floor_div_negative_exact", floorDiv(-120, 60), -2},
		{"ceil_div_shares_out", ceilDiv(10, 3), 4},
		{"ceil_div_never_zero", ceilDiv(1, 3), 1},
		{"ceil_div_fleet_of_one", ceilDiv(7, 1), 7},
		{"day_of_noon", dayOf(base.UnixNano()), base.Unix() / 86400},
		{"until_midnight_from_noon", int64(untilMidnight(base.UnixNano())), int64(12 * time.Hour)},
		{"until_midnight_at_midnight", int64(untilMidnight(base.Add(12 * time.Hour).UnixNano())), int64(24 * time.Hour)},
		{"ceil_millis_rounds_up", ceilMillis(1500 * time.Microsecond), 2},
		{"ceil_millis_at_least_one", ceilMillis(0), 1},
		{"millis_or_zero_keeps_zero", millisOrZero(0), 0},
		{"ceil_seconds", ceilSeconds(1500 * time.Millisecond), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %d, want %d", c.got, c.want)
			}
		})
	}
}

func TestGCRA(t *testing.T) {
	const interval, burst, maxWait = 10, 3, 25
	cases := []struct {
		name    string
		tat     int64
		now     int64
		wantTAT int64
		wait    int64
		ok      bool
	}{
		{"new_bucket", 0, 100, 110, 0, true},
		{"within_burst", 110, 100, 120, 0, true},
		{"last_of_burst", 120, 100, 130, 0, true},
		{"queued", 130, 100, 140, 10, true},
		{"queued_to_max_wait", 145, 100, 155, 25, true},
		{"past_max_wait_reserves_nothing", 146, 100, 146, 26, false},
		{"old_tat_counts_from_now", 50, 100, 110, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tat, wait, ok := gcra(c.tat, c.now, interval, burst, maxWait)
			if tat != c.wantTAT || wait != c.wait || ok != c.ok {
				t.Errorf("gcra = %d, %d, %v; want %d, %d, %v", tat, wait, ok, c.wantTAT, c.wait, c.ok)
			}
		})
	}
}
