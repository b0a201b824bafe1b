package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ClaimMarker runs the marker-claim script.
func (r *Redis) ClaimMarker(ctx context.Context, key string, pendingTTL time.Duration) (MarkerState, error) {
	if pendingTTL <= 0 {
		return 0, errors.New("claiming marker: pending ttl must be positive")
	}
	res, err := r.run(ctx, r.claimMarker, []string{r.tagged("m", key)}, ceilMillis(pendingTTL))
	if err != nil {
		return 0, r.fail(ctx, "claiming marker", err)
	}
	state, ok := res.(int64)
	if !ok || state < int64(MarkerNew) || state > int64(MarkerDone) {
		return 0, fmt.Errorf("claiming marker: %w: unexpected script reply", ErrUnavailable)
	}
	return MarkerState(state), nil
}

// ConfirmMarker sets the marker done (one SET, atomic by itself).
func (r *Redis) ConfirmMarker(ctx context.Context, key string, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("confirming marker: ttl must be positive")
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.client.Set(cctx, r.tagged("m", key), "d", time.Duration(ceilMillis(ttl))*time.Millisecond).Err(); err != nil {
		return r.fail(ctx, "confirming marker", err)
	}
	return nil
}

// ReleaseMarker runs the marker-release script.
func (r *Redis) ReleaseMarker(ctx context.Context, key string) error {
	if _, err := r.run(ctx, r.releaseMkr, []string{r.tagged("m", key)}); err != nil {
		return r.fail(ctx, "releasing marker", err)
	}
	return nil
}
