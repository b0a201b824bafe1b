package restlinktest

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// Defaults of a new Fake.
const (
	// DefaultAccountID is the portal account (restlink's user_id, part of
	// every message ID) of workspaces whose AccountID is 0.
	DefaultAccountID int64 = 42
	// DefaultBalance is every account's balance until SetBalance, in
	// DefaultCurrency: large enough for load tests never to meet 402
	// INSUFFICIENT_BALANCE.
	DefaultBalance = "1000000"
	// DefaultPricePerSegment is the cost of one SMS segment, in
	// DefaultCurrency, where no price table says otherwise.
	DefaultPricePerSegment = "0.0085"
	// DefaultCurrency is the accounts' currency.
	DefaultCurrency = "EUR"
)

// Options change how the fake behaves. The zero value of each field keeps
// the documented default, so Options{} is the fake as New returns it.
type Options struct {
	// Now is the fake's clock. It dates requests, messages and balances,
	// judges HMAC timestamps and key expiry, counts rate-limit windows and
	// stamps outgoing webhooks. Default: time.Now.
	Now func() time.Time

	// PricePerSegment is what one SMS segment costs, as an exact decimal
	// of at most 6 places ("0.0085"; "0" makes sends free). Default:
	// DefaultPricePerSegment. SetOptions panics on text that is not an
	// exact amount or is negative.
	PricePerSegment string
	// Currency of balances and costs. Default: DefaultCurrency.
	Currency string
	// BlockedCountries are country calling codes, without "+" (such as
	// "7" or "234"), whose recipients a live send reports as
	// blocked_country instead of sending. Sandbox sends skip the list, as
	// restlink's do. Default: none.
	BlockedCountries []string
	// RateLimit is each account's limit in requests per second, counted in
	// fixed one-second windows of the fake's clock (restlink does not say
	// which algorithm it uses; a fixed window is exact to test against).
	// Requests beyond it answer 429 RATE_LIMIT_EXCEEDED, without
	// Retry-After. Default: 0, no limit, so that load tests measure the
	// sidecar rather than the fake.
	RateLimit int

	// WebhookClient sends the fake's webhooks; set it to trust a
	// receiver's private CA. Default: a client with Go's default
	// transport.
	WebhookClient *http.Client
	// TimeScale multiplies every webhook duration (the receiver's 5 s
	// answer deadline, the 10 s and 30 s retry delays, the delivery
	// delays) so that tests need not wait for them: 0.01 turns 30 s into
	// 300 ms. Default: 1.
	TimeScale float64
	// WebhookTimeout, when set, replaces the scaled 5 s deadline for a
	// receiver's answer, for tests whose TimeScale would make it too tight
	// for a loaded machine.
	WebhookTimeout time.Duration
	// SimulateDelivery gives every accepted message its delivery report
	// after DeliveryDelay (live keys) or SandboxDeliveryDelay (sandbox
	// keys), scaled by TimeScale: its status turns final (DELIVRD, or
	// what DeliveryStatus says) and, if the workspace has a delivery URL,
	// a delivery webhook is sent. Default: off (messages stay "sent"
	// until Deliver).
	SimulateDelivery bool
	// DeliveryStatus chooses the final status of a live message to a
	// recipient (its E.164 number) when SimulateDelivery reports it:
	// DELIVRD, UNDELIV, REJECTD, EXPIRED or UNKNOWN; "" means DELIVRD,
	// and anything else panics. It is called without the fake's lock
	// held. Sandbox messages are always DELIVRD, as restlink's sandbox
	// reports. Default: nil, every message DELIVRD.
	DeliveryStatus func(recipient string) string
	// DeliveryDelay is how long after a live send its messages are
	// delivered. Default: 1 s.
	DeliveryDelay time.Duration
	// SandboxDeliveryDelay is the same for sandbox sends. Default: 5 s,
	// the latency restlink's sandbox simulates.
	SandboxDeliveryDelay time.Duration
	// ReplayDelivered makes the fake send every webhook it delivered a
	// second time, freshly signed, as restlink says it may: receivers must
	// be idempotent by message_id.
	ReplayDelivered bool

	// pricePerSegment is PricePerSegment read, by withDefaults.
	pricePerSegment micros
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PricePerSegment == "" {
		o.PricePerSegment = DefaultPricePerSegment
	}
	o.pricePerSegment = mustMicros("Options.PricePerSegment", o.PricePerSegment)
	if o.pricePerSegment < 0 {
		panic("restlinktest: Options.PricePerSegment " + o.PricePerSegment + " is negative")
	}
	if o.Currency == "" {
		o.Currency = DefaultCurrency
	}
	o.BlockedCountries = append([]string(nil), o.BlockedCountries...)
	if o.WebhookClient == nil {
		o.WebhookClient = &http.Client{}
	}
	if o.TimeScale <= 0 {
		o.TimeScale = 1
	}
	if o.DeliveryDelay <= 0 {
		o.DeliveryDelay = time.Second
	}
	if o.SandboxDeliveryDelay <= 0 {
		o.SandboxDeliveryDelay = 5 * time.Second
	}
	return o
}

// scaled is d multiplied by the time scale.
func (o Options) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * o.TimeScale)
}

// Fake is the fake restlink API. It is an http.Handler; NewServer serves it
// on loopback. Create it with New; it is safe for concurrent use. Close it
// when done to stop the webhooks it may still be sending.
type Fake struct {
	mu         sync.Mutex
	opts       Options // with defaults
	workspaces map[int64]*workspace
	keys       map[string]*apiKey
	accounts   map[int64]*account
	messages   map[string]*message // by message ID, for every workspace
	charged    []*message          // every accepted message, for Charges
	nextRow    int64               // the next message's numeric id
	log        requestLog
	faults     []*Fault
	replays    replayCache
	hooks      webhookLog

	// background is the context of the simulated deliveries and queued
	// webhooks; Close cancels it and waits for them.
	background context.Context
	stop       context.CancelFunc
}

// New returns a fake serving the given workspaces, with the default
// Options.
func New(workspaces ...Workspace) *Fake {
	ctx, stop := context.WithCancel(context.Background())
	f := &Fake{
		opts:       Options{}.withDefaults(),
		workspaces: make(map[int64]*workspace),
		keys:       make(map[string]*apiKey),
		accounts:   make(map[int64]*account),
		messages:   make(map[string]*message),
		replays:    newReplayCache(),
		background: ctx,
		stop:       stop,
	}
	for _, ws := range workspaces {
		f.addWorkspace(ws)
	}
	return f
}

// SetOptions replaces the fake's options; zero fields take their
// defaults. It applies to requests and webhooks from now on.
func (f *Fake) SetOptions(o Options) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opts = o.withDefaults()
}

// Close stops the simulated deliveries and webhooks still pending and
// waits for those under way to end. The fake keeps answering requests.
func (f *Fake) Close() {
	f.stop()
	_ = f.WaitWebhooks(context.Background())
}

// now reads the fake's clock. f.mu is held.
func (f *Fake) now() time.Time {
	return f.opts.Now()
}

// ServeHTTP answers like restlink: it records the request, applies the
// first matching fault, then authenticates, rate-limits, routes and
// answers it.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readAll(r)
	if err != nil {
		return // the client went away while sending
	}
	key := r.Header.Get("X-API-Key")
	f.mu.Lock()
	now := f.now()
	var wsID int64
	if k := f.keys[key]; k != nil {
		wsID = k.workspaceID
	}
	rec := f.log.add(r, body, key, wsID, now)
	fault := f.matchFault(r.URL.Path, wsID, onArrival)
	f.mu.Unlock()

	if fault != nil {
		resp, answer := fault.apply(w, r)
		if !answer {
			return // the fault dropped the connection
		}
		if resp != nil {
			f.finish(rec, *resp)
			resp.write(w)
			return
		}
	}
	resp := f.handle(r, body)
	f.finish(rec, resp)
	resp.write(w)
}

// handle decides the answer to a request that no fault took over.
func (f *Fake) handle(r *http.Request, body []byte) response {
	c, refused := f.authenticate(r, body)
	if refused != nil {
		return *refused
	}
	if refused := f.rateLimit(c); refused != nil {
		return *refused
	}
	ep, ok := route(r.Method, r.URL.Path)
	if !ok {
		return errorResponse(http.StatusNotFound, codeNotFound, "no such endpoint")
	}
	c.param = ep.param
	if ep.permission == "" {
		return errorResponse(http.StatusUnauthorized, codeUnauthorized, "this endpoint accepts JWT authentication only")
	}
	if !c.key.allows(ep.permission) {
		return errorResponse(http.StatusForbidden, codeForbidden, "the API key lacks the permission for this endpoint")
	}
	return ep.handle(f, c)
}

// call is an authenticated request on its way to an endpoint.
type call struct {
	r       *http.Request
	body    []byte
	now     time.Time
	key     *apiKey // a copy, immune to later changes
	ws      int64
	account int64
	param   string // the endpoint's path parameter, such as a message ID
}

// readAll reads a request body whole.
func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}
