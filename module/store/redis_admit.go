package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Admit runs the admission script: the idempotency check, every limit,
// and then the charges and the record, in one atomic step.
func (r *Redis) Admit(ctx context.Context, a Admission) (Decision, error) {
	if err := validateAdmission(&a); err != nil {
		return Decision{}, err
	}
	if a.Idempotency == nil && len(a.Limits) == 0 {
		return Decision{Verdict: Admitted, Ticket: Ticket{Scope: a.Scope, issuer: r}}, nil
	}
	now := a.Now.UnixNano()
	base := r.scoped(a.Scope)
	keys := make([]string, 0, 1+len(a.Limits))
	args := make([]any, 0, 7+7*len(a.Limits))
	args = append(args, flag(a.Charge), flag(a.Idempotency != nil), now/1e6)
	var owner uint64
	if c := a.Idempotency; c != nil {
		owner = rand.Uint64()
		keys = append(keys, base+"i:"+c.Key)
		args = append(args, string(c.BodyHash[:]), ceilMillis(c.TTL), millisOrZero(c.InFlightFor), strconv.FormatUint(owner, 10))
	} else {
		args = append(args, "", 0, 0, "")
	}
	var charges []Charge
	var values []int64
	if a.Charge {
		charges, values = chargesAndValues(&a)
	}
	for i := range a.Limits {
		l := &a.Limits[i]
		if l.Period.Name != "" {
			key := base + "p:" + l.Period.Name + ":" + l.Key
			keys = append(keys, key)
			args = append(args, "p", l.Cost, l.Max, "", 0, 0, l.Period.Ends.Add(periodLinger).UnixMilli())
			if a.Charge && l.Cost > 0 {
				charges = append(charges, Charge{Key: key, Amount: l.Cost})
			}
			continue
		}
		if l.Window == 0 {
			key := base + "d:" + time.Unix(0, now).UTC().Format("20060102") + ":" + l.Key
			keys = append(keys, key)
			args = append(args, "d", l.Cost, l.Max, "", 0, 0, ceilMillis(untilMidnight(now)))
			if a.Charge && l.Cost > 0 {
				charges = append(charges, Charge{Key: key, Amount: l.Cost})
			}
			continue
		}
		step := windowStep(l.Window)
		cur := floorDiv(now, step)
		field := strconv.FormatInt(cur, 10)
		key := base + "w:" + l.Key
		keys = append(keys, key)
		args = append(args, "w", l.Cost, l.Max, field, step, now-cur*step,
			ceilMillis(time.Duration((cur+windowSteps)*step-now)))
		if a.Charge && l.Cost > 0 {
			charges = append(charges, Charge{Key: key, Field: field, Amount: l.Cost})
		}
	}

	res, err := r.run(ctx, r.admit, keys, args...)
	if err != nil {
		return Decision{}, r.fail(ctx, "admitting", err)
	}
	reply, ok := res.([]any)
	if !ok || len(reply) == 0 {
		return Decision{}, fmt.Errorf("admitting: %w: unexpected script reply", ErrUnavailable)
	}
	verdict, _ := reply[0].(int64)
	switch Verdict(verdict) {
	case Admitted:
		if len(reply) != 1+len(values) {
			return Decision{}, fmt.Errorf("admitting: %w: unexpected script reply", ErrUnavailable)
		}
		for i := range values {
			values[i], _ = reply[1+i].(int64)
		}
		t := Ticket{Scope: a.Scope, Charges: charges, issuer: r}
		if a.Idempotency != nil {
			t.Idempotency, t.claim = a.Idempotency.Key, owner
		}
		return Decision{Verdict: Admitted, Ticket: t, Values: values}, nil
	case Refused:
		if len(reply) < 4 {
			return Decision{}, fmt.Errorf("admitting: %w: unexpected script reply", ErrUnavailable)
		}
		i, _ := reply[1].(int64)
		v, _ := reply[2].(int64)
		retry, _ := reply[3].(int64)
		if i < 0 || int(i) >= len(a.Limits) {
			return Decision{}, fmt.Errorf("admitting: %w: unexpected script reply", ErrUnavailable)
		}
		switch l := &a.Limits[i]; {
		case l.Period.Name != "":
			retry = int64(periodRetryAfter(l.Period, now))
		case l.Window == 0:
			retry = int64(untilMidnight(now))
		}
		return Decision{Verdict: Refused, Refused: int(i), Current: v, RetryAfter: time.Duration(retry)}, nil
	case Replay:
		var raw string
		if len(reply) >= 5 {
			raw, _ = reply[4].(string)
		}
		rec := new(Record)
		if err := json.Unmarshal([]byte(raw), rec); err != nil {
			return Decision{}, fmt.Errorf("admitting: reading the remembered answer: %w", err)
		}
		return Decision{Verdict: Replay, Record: rec}, nil
	case InProgress, KeyReused, OutcomeUnknown:
		return Decision{Verdict: Verdict(verdict)}, nil
	}
	return Decision{}, fmt.Errorf("admitting: %w: unexpected script reply", ErrUnavailable)
}

// recordOrEmpty stores a nil Record as an empty one, so that a replay
// still finds a record.
func recordOrEmpty(r *Record) *Record {
	if r == nil {
		return &Record{}
	}
	return r
}

// Script arguments "1" and "0", boxed once: a string returned into an
// interface would cost every call an allocation.
var argTrue, argFalse any = "1", "0"

// flag is a boolean script argument.
func flag(b bool) any {
	if b {
		return argTrue
	}
	return argFalse
}

// millisOrZero is ceilMillis for a duration whose zero (or less) means
// "not set": it stays 0.
func millisOrZero(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return ceilMillis(d)
}

// ceilMillis is d in whole milliseconds, rounded up, at least 1: PEXPIRE
// with 0 would delete the key at once.
func ceilMillis(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}
