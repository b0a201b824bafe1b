package policy

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// RecipientKeySalt is mixed into the hash that names a number in the keys
// of per_recipient counters, so that store keys never hold phone numbers.
// It is fixed, so that every sidecar of a fleet names a number alike. The
// keys are pseudonymous, not anonymous: phone numbers are few enough that
// anyone who can read the store and knows this salt can test guesses.
const RecipientKeySalt = "restlink-sidecar/policy/per_recipient/v1:"

// Key kinds, the first part of every store key of a limit.
const (
	keyRate      = "rate/"
	keyDaily     = "segments/day:"
	keyRecipient = "recipient/"
)

// Limits returns the limits a send is charged against, in this order:
// rate (cost: the send's recipients), daily_segments (a calendar-day
// counter, Window 0; cost: the send's total segments), then per_recipient,
// one limit per distinct number (by its numbering plan's E.164 form) in
// order of first appearance (cost: how often the number appears in the
// send, in either form). Limits the rules do not set are left out; nil if
// there are none. subject names whose counters they are: the tenant, also
// to be used as the admission's scope. Keys hold the subject and a salted
// hash of each number, never the number.
func (r *Rules) Limits(subject string, s *Send) []store.Limit {
	n := 0
	if r.rate != nil {
		n++
	}
	if r.dailySegments > 0 {
		n++
	}
	if r.perRecipient != nil {
		n += len(s.Recipients)
	}
	if n == 0 {
		return nil
	}
	limits := make([]store.Limit, 0, n)
	if r.rate != nil {
		limits = append(limits, store.Limit{
			Key: r.rate.keyPrefix + subject, Cost: int64(len(s.Recipients)),
			Max: r.rate.max, Window: r.rate.per,
		})
	}
	if r.dailySegments > 0 {
		limits = append(limits, store.Limit{Key: keyDaily + subject, Cost: int64(s.Segments), Max: r.dailySegments})
	}
	if r.perRecipient != nil {
		limits = r.appendRecipientLimits(limits, subject, s.Recipients)
	}
	return limits
}

// appendRecipientLimits appends one per_recipient limit per distinct
// number, numbers told apart by their numbering plan's E.164 form: one
// phone spelled with and without its trunk prefix is one recipient.
func (r *Rules) appendRecipientLimits(limits []store.Limit, subject string, recipients []Recipient) []store.Limit {
	first := len(limits)
	// The distinct numbers so far, in the order of their limits: a short
	// list is searched, a long one indexed.
	var small [8]string
	distinct := small[:0]
	var index map[string]int
	if len(recipients) > len(small) {
		index = make(map[string]int, len(recipients))
	}
	for _, rc := range recipients {
		number := e164(rc.Number)
		j, ok := -1, false
		if index != nil {
			j, ok = index[number]
		} else {
			j = slices.Index(distinct, number)
			ok = j >= 0
		}
		if ok {
			limits[first+j].Cost++
			continue
		}
		if index != nil {
			index[number] = len(limits) - first
		} else {
			distinct = append(distinct, number)
		}
		limits = append(limits, store.Limit{
			Key:  recipientKey(r.perRecipient.keyPrefix, subject, number),
			Cost: 1, Max: r.perRecipient.max, Window: r.perRecipient.per,
		})
	}
	return limits
}

// recipientKey names the per_recipient counter of a number:
// prefix + subject + ":" + the first 96 bits of SHA-256(salt + number),
// base64url.
func recipientKey(prefix, subject, number string) string {
	var buf [len(RecipientKeySalt) + 16]byte
	m := copy(buf[:], RecipientKeySalt)
	m += copy(buf[m:], number) // E.164: at most 16 bytes
	sum := sha256.Sum256(buf[:m])
	var b strings.Builder
	b.Grow(len(prefix) + len(subject) + 1 + 16)
	b.WriteString(prefix)
	b.WriteString(subject)
	b.WriteByte(':')
	var enc [16]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:12])
	b.Write(enc[:])
	return b.String()
}

// LimitRefusal turns a store refusal into the answer to the send: limits
// are those Limits returned (as admitted), index the refused one's
// position, current its counter's value before the send and retryAfter
// when the send could pass, as the store's Decision gives them.
//
//   - rate: 429 SEND_RATE_LIMITED;
//   - daily_segments: 429 DAILY_SEGMENT_CAP;
//   - per_recipient: 429 RECIPIENT_FLOOD.
//
// RetryAfter is retryAfter rounded up to whole seconds, at least 1s. The
// description gives the limit and the counts, never a number. An index
// outside limits, or a limit Limits did not make, is reported as the rate
// limit.
func (r *Rules) LimitRefusal(limits []store.Limit, index int, current int64, retryAfter time.Duration) *Refusal {
	var l store.Limit
	if index >= 0 && index < len(limits) {
		l = limits[index]
	}
	ref := &Refusal{Status: 429, RetryAfter: roundRetryAfter(retryAfter)}
	wait := "; retry in " + formatDuration(ref.RetryAfter)
	counts := strconv.FormatInt(current, 10)
	switch {
	case strings.HasPrefix(l.Key, keyDaily):
		ref.Code, ref.Rule = CodeDailySegmentCap, RuleDailySegments
		ref.Description = "daily segment cap reached: this tenant may send " + strconv.FormatInt(l.Max, 10) +
			" segments per UTC day; " + counts + " sent today, and this send needs " +
			strconv.FormatInt(l.Cost, 10) + wait
	case strings.HasPrefix(l.Key, keyRecipient):
		ref.Code, ref.Rule = CodeRecipientFlood, RulePerRecipient
		ref.Description = "recipient flood limit reached: this tenant may send " + strconv.FormatInt(l.Max, 10) +
			" messages per " + formatDuration(l.Window) + " to one number; a number of this send has had " +
			counts + ", and this send adds " + strconv.FormatInt(l.Cost, 10) + wait
	default:
		ref.Code, ref.Rule = CodeSendRateLimited, RuleRate
		ref.Description = "send rate limit reached: this tenant may send to " + strconv.FormatInt(l.Max, 10) +
			" recipients per " + formatDuration(l.Window) + "; " + counts +
			" counted in the current window, and this send has " + strconv.FormatInt(l.Cost, 10) + wait
	}
	return ref
}

// Quota is a tenant-wide limit of a tenant's rules, to show its use.
type Quota struct {
	// Rule is RuleRate or RuleDailySegments.
	Rule string
	// Limit names the counter, with Cost 0: read it with store.Usage.
	Limit store.Limit
}

// Quotas returns the tenant-wide limits of the rules, rate first, then the
// daily segment cap (per_recipient limits are per number, not shown).
func (r *Rules) Quotas(subject string) []Quota {
	var q []Quota
	if r.rate != nil {
		q = append(q, Quota{Rule: RuleRate, Limit: store.Limit{Key: r.rate.keyPrefix + subject, Max: r.rate.max, Window: r.rate.per}})
	}
	if r.dailySegments > 0 {
		q = append(q, Quota{Rule: RuleDailySegments, Limit: store.Limit{Key: keyDaily + subject, Max: r.dailySegments}})
	}
	return q
}
