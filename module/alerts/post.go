package alerts

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

// userAgent is the User-Agent of every POST: the receiver can tell the
// sidecar's alerts, and the version of their format, from it.
const userAgent = "restlink-sidecar-alerts/1"

// maxDrain bounds how much of an answer is read (and discarded) to reuse
// the connection.
const maxDrain = 64 << 10

// StatusError is the error of an attempt the alert receiver answered
// with a status other than 2xx.
type StatusError struct {
	StatusCode int
}

// Error names the status, and the receiver only as "the alert receiver".
func (e *StatusError) Error() string {
	return "the alert receiver answered HTTP " + strconv.Itoa(e.StatusCode)
}

// post sends one alert's body to the receiver once, and returns nil only
// if it answered 2xx. Cancelling ctx (Close) ends the attempt at once.
func (o *Outbox) post(ctx context.Context, body []byte) error {
	if o.attemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.attemptTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("building the request: invalid alert receiver URL") // never quote the URL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := o.client.Do(req)
	if err != nil {
		// The client's error quotes the URL, which may hold a token:
		// keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("posting to the alert receiver: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)) //nolint:errcheck // the status is the answer
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{StatusCode: resp.StatusCode}
	}
	return nil
}
