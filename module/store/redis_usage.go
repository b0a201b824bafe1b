package store

import (
	"context"
	"errors"
	"time"
)

// Usage runs the usage script.
func (r *Redis) Usage(ctx context.Context, scope string, limits []Limit, now time.Time) ([]int64, error) {
	if err := validateScope("reading usage", scope); err != nil {
		return nil, err
	}
	if err := validateLimits("reading usage", limits); err != nil {
		return nil, err
	}
	if len(limits) == 0 {
		return []int64{}, nil
	}
	n := now.UnixNano()
	base := r.scoped(scope)
	keys := make([]string, len(limits))
	args := make([]any, 0, 2*len(limits))
	for i := range limits {
		l := &limits[i]
		if l.Period.Name != "" {
			keys[i] = base + "p:" + l.Period.Name + ":" + l.Key
			args = append(args, "p", 0)
			continue
		}
		if l.Window == 0 {
			keys[i] = base + "d:" + now.UTC().Format("20060102") + ":" + l.Key
			args = append(args, "d", 0)
			continue
		}
		keys[i] = base + "w:" + l.Key
		args = append(args, "w", floorDiv(n, windowStep(l.Window)))
	}
	res, err := r.run(ctx, r.usage, keys, args...)
	if err != nil {
		return nil, r.fail(ctx, "reading usage", err)
	}
	reply, ok := res.([]any)
	if !ok || len(reply) != len(limits) {
		return nil, errors.New("reading usage: unexpected script reply")
	}
	out := make([]int64, len(limits))
	for i, v := range reply {
		out[i], _ = v.(int64)
	}
	return out, nil
}
