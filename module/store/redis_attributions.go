package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Attribute runs the attribution script for each attribution, pipelined:
// one key per message (each in its own slot, which a Cluster client sends
// to its node), written and given its TTL atomically. Scripts the server
// did not have cached are sent again with EVAL (they did not run).
func (r *Redis) Attribute(ctx context.Context, attributions []Attribution, ttl time.Duration) error {
	if err := validateAttributions(attributions, ttl); err != nil {
		return err
	}
	if len(attributions) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ms := ceilMillis(ttl)
	run := func(todo []int, eval bool) ([]int, error) {
		pipe := r.client.Pipeline()
		cmds := make([]*redis.Cmd, len(todo))
		for j, i := range todo {
			a := &attributions[i]
			keys := []string{r.prefix + "att:" + a.MessageID}
			if eval {
				cmds[j] = r.attribute.Eval(cctx, pipe, keys, a.Data, a.Cost, ms)
			} else {
				cmds[j] = r.attribute.EvalSha(cctx, pipe, keys, a.Data, a.Cost, ms)
			}
		}
		_, _ = pipe.Exec(cctx) // each command's error is its own
		var again []int
		for j, cmd := range cmds {
			switch err := cmd.Err(); {
			case err == nil:
			case !eval && redis.HasErrorPrefix(err, "NOSCRIPT"):
				again = append(again, todo[j])
			default:
				return nil, err
			}
		}
		return again, nil
	}
	all := make([]int, len(attributions))
	for i := range all {
		all[i] = i
	}
	again, err := run(all, false)
	if err == nil && len(again) > 0 {
		_, err = run(again, true)
	}
	if err != nil {
		return r.fail(ctx, "attributing", err)
	}
	return nil
}

// Reconcile runs the reconciliation script.
func (r *Redis) Reconcile(ctx context.Context, messageID string, cost int64) ([]byte, int64, bool, error) {
	if err := validateReconcile(messageID, cost); err != nil {
		return nil, 0, false, err
	}
	res, err := r.run(ctx, r.reconcile, []string{r.prefix + "att:" + messageID}, cost)
	if err != nil {
		return nil, 0, false, r.fail(ctx, "reconciling", err)
	}
	reply, ok := res.([]any)
	if !ok || len(reply) == 0 {
		return nil, 0, false, fmt.Errorf("reconciling: %w: unexpected script reply", ErrUnavailable)
	}
	if found, _ := reply[0].(int64); found == 0 {
		return nil, 0, false, nil
	}
	if len(reply) != 3 {
		return nil, 0, false, fmt.Errorf("reconciling: %w: unexpected script reply", ErrUnavailable)
	}
	data, ok1 := reply[1].(string)
	raw, ok2 := reply[2].(string)
	previous, err := strconv.ParseInt(raw, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return nil, 0, false, fmt.Errorf("reconciling: %w: unexpected script reply", ErrUnavailable)
	}
	return []byte(data), previous, true, nil
}
