package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/names"
)

// Event is one webhook received from restlink, as the spool keeps it.
type Event struct {
	// ID identifies the event for the app: it is sent as the
	// X-Restlink-Event-Id header and is the app's idempotency key. It is
	// derived from DedupKey (see EventID), so a redelivery of the same
	// event by restlink, received by this sidecar or by another replica,
	// carries the same ID. Enqueue sets it.
	ID string

	// Workspace is the name of the workspace the webhook was received
	// for; it selects the delivery target. It may contain only
	// A-Z a-z 0-9 . _ - (it names a directory of dead letters).
	Workspace string

	// WorkspaceID is restlink's numeric id of the workspace, sent to the
	// app as X-Restlink-Workspace-Id. Zero means unknown.
	WorkspaceID int64

	// Type is the event type, for example "delivery", "click",
	// "impression" or "conversion"; sent as X-Restlink-Event. It may
	// contain only A-Z a-z 0-9 . _ -.
	Type string

	// Body is the raw request body exactly as restlink sent it. It holds
	// personal data (phone numbers): never log it.
	Body []byte

	// ContentType is the Content-Type restlink sent, repeated to the app.
	ContentType string

	// Received is when the sidecar received the event. Enqueue sets it to
	// the spool's clock when zero. The delivery target's retry window
	// counts from it.
	Received time.Time

	// Attempts is the number of failed delivery attempts so far.
	Attempts int

	// NextAttempt is when the event is due for its next delivery attempt.
	NextAttempt time.Time

	// LastError describes why the last attempt failed. It never holds a
	// body or a secret.
	LastError string

	// DedupKey identifies the event for de-duplication of restlink's
	// redeliveries; see DedupKey. Enqueue computes it when empty.
	DedupKey string
}

// Limits on what an event carries. Its workspace and type are names
// (internal/names), which also makes them usable as directory names.
const (
	maxDedupIDField      = 128
	maxContentTypeLength = 256
)

// ErrInvalidEvent is returned by Enqueue for an event that cannot be
// spooled: a bad workspace name, type or content type.
var ErrInvalidEvent = errors.New("invalid webhook event")

// validate checks the fields Enqueue relies on: the names end up in file
// paths, keys and headers.
func (ev *Event) validate() error {
	if err := names.Check(ev.Workspace); err != nil {
		return fmt.Errorf("%w: workspace %v", ErrInvalidEvent, err)
	}
	if err := names.Check(ev.Type); err != nil {
		return fmt.Errorf("%w: type %v", ErrInvalidEvent, err)
	}
	if !isHeaderValue(ev.ContentType) {
		return fmt.Errorf("%w: content type is not a valid header value", ErrInvalidEvent)
	}
	return nil
}

// isHeaderValue accepts what can be repeated in a header to the app: at
// most 256 bytes, no control characters.
func isHeaderValue(s string) bool {
	if len(s) > maxContentTypeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// DedupKey returns the de-duplication key of an event:
//
//	workspace|type|message_id|status
//
// when the JSON body has string fields message_id and status (a delivery
// report is identified by the message and the status it reports), and
//
//	workspace|type|sha256-hex(body)
//
// otherwise. A body with a message_id but no status (a click, say) is
// keyed by its hash, so that two clicks on the same message stay two
// events while a byte-identical redelivery is still recognised. A
// message_id or status that is not a short printable token also falls
// back to the hash, so the key never carries anything but an id and a
// status: never a phone number.
func DedupKey(workspace, eventType string, body []byte) string {
	var fields struct {
		MessageID *string `json:"message_id"`
		Status    *string `json:"status"`
	}
	if json.Unmarshal(body, &fields) == nil && fields.MessageID != nil && fields.Status != nil &&
		isDedupToken(*fields.MessageID) && isDedupToken(*fields.Status) {
		return workspace + "|" + eventType + "|" + *fields.MessageID + "|" + *fields.Status
	}
	sum := sha256.Sum256(body)
	return workspace + "|" + eventType + "|" + hex.EncodeToString(sum[:])
}

// isDedupToken accepts the ids and statuses restlink sends (api_42_…,
// DELIVRD): printable ASCII without the separator, at most 128 bytes.
func isDedupToken(s string) bool {
	if s == "" || len(s) > maxDedupIDField {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '|' {
			return false
		}
	}
	return true
}

// EventID returns the event id for a de-duplication key: the first 32
// hex characters of its SHA-256. It is the same on every replica, so the
// app can de-duplicate events a fleet of sidecars delivers.
func EventID(dedupKey string) string {
	sum := sha256.Sum256([]byte(dedupKey))
	return hex.EncodeToString(sum[:16])
}
