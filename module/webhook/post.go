package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// The headers of a delivery to the app. restlink's signature headers are
// never forwarded: the sidecar verified them, and the app trusts its
// loopback link to the sidecar instead of holding the secret.
const (
	HeaderWorkspace   = "X-Restlink-Workspace"
	HeaderWorkspaceID = "X-Restlink-Workspace-Id"
	HeaderEvent       = "X-Restlink-Event"
	HeaderEventID     = "X-Restlink-Event-Id"
	userAgent         = "restlink-sidecar"
)

// maxDrain bounds how much of an app's answer is read (and discarded) to
// reuse the connection.
const maxDrain = 64 << 10

// StatusError is the error of an attempt the app answered with a status
// other than 2xx.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return "app answered HTTP " + strconv.Itoa(e.StatusCode)
}

// post sends ev to t once. It returns the app's status (0 without an
// answer) and nil only for a 2xx.
func (d *Deliverer) post(ctx context.Context, ev *Event, t target) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, errors.New("building delivery request: invalid target URL") // never quote the URL
	}
	h := req.Header
	if ev.ContentType != "" {
		h.Set("Content-Type", ev.ContentType)
	}
	h.Set("User-Agent", userAgent)
	h.Set(HeaderWorkspace, ev.Workspace)
	workspaceID := ev.WorkspaceID
	if workspaceID == 0 {
		workspaceID = t.workspaceID
	}
	if workspaceID != 0 {
		h.Set(HeaderWorkspaceID, strconv.FormatInt(workspaceID, 10))
	}
	h.Set(HeaderEvent, ev.Type)
	h.Set(HeaderEventID, ev.ID)

	resp, err := d.client.Do(req)
	if err != nil {
		// The client's error quotes the URL, and an app may authenticate
		// the sidecar with a token in its query: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return 0, fmt.Errorf("delivering webhook event: no answer within %s: %w", d.opts.AttemptTimeout, err)
		}
		return 0, fmt.Errorf("delivering webhook event: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)) //nolint:errcheck // the status is the answer
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, &StatusError{StatusCode: resp.StatusCode}
	}
	return resp.StatusCode, nil
}
