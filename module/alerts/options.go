package alerts

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Options tune an Outbox. URL is required; the zero value of every other
// field means its default.
type Options struct {
	// URL is where alerts are POSTed: an absolute http or https URL. It
	// may hold a token (in its path, query or user info): no error of
	// the package quotes it, and errors name it "the alert receiver".
	URL string

	// Client sends the alerts. A client without a Timeout is given
	// DefaultTimeout per attempt all the same, so that a receiver which
	// never answers does not hold up delivery for good. Default: a
	// client with a Timeout of DefaultTimeout that does not follow
	// redirects (a 3xx is not taken: the client would follow a 301, 302
	// or 303 with a GET without the alert).
	Client *http.Client

	// MinBackoff is the wait before the first retry of an alert the
	// receiver did not take, and MaxBackoff the longest wait: the wait
	// doubles with each failure from one to the other, with jitter (a
	// random wait between half and all of it, never less than
	// MinBackoff). Defaults: DefaultMinBackoff and DefaultMaxBackoff.
	// MaxBackoff must not be shorter than MinBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration

	// Now is the outbox's clock: it dates an alert added with a zero At,
	// and times how long delivered ids are remembered. Default:
	// time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// ErrNoURL is the error of Options without a URL.
var ErrNoURL = errors.New("no alert receiver URL")

// withDefaults returns opts with its defaults set, or an error if they do
// not make a working outbox. The error never quotes the URL.
func (opts Options) withDefaults() (Options, error) {
	if opts.URL == "" {
		return opts, ErrNoURL
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		return opts, errors.New("the alert receiver URL does not parse") // url.Parse's error quotes it
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return opts, errors.New("the alert receiver URL is not an absolute http or https URL")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			Timeout: DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		return opts, fmt.Errorf("max backoff %s is shorter than min backoff %s", opts.MaxBackoff, opts.MinBackoff)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}
