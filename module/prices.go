package restlink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/store"

	"github.com/23telecom/restlink-sidecar/module/pricing"
)

// The paths the pricer reads, as restlink serves them.
const (
	pricingPath = "/api/v1/user/pricing"
	balancePath = "/api/v1/user/balance"
)

// maxPricingAnswer bounds a price table or balance answer: a table has
// one entry per network, a few thousand at most.
const maxPricingAnswer = 16 << 20

// workspacePrices is what the pricer last learned of one workspace. It
// is immutable: the pricer replaces it whole.
type workspacePrices struct {
	table *pricing.Table // the last good table; nil: never had one
	// tableAt is when table was read. A failed read leaves it, so that
	// its age (restlink_price_table_age_seconds) says how old the prices
	// in use are.
	tableAt  time.Time
	tableErr string // why the last read did not replace it; "": it did
	// triedAt is when the table was last read, whether or not the read
	// replaced it: the next read is due pricing.refresh after it, or
	// pricerRetry after a failed one.
	triedAt   time.Time
	balance   *pricing.Balance
	balanceAt time.Time
	// balanceErr is why the last balance read failed; "": it did not.
	balanceErr string
}

// priceBook holds the workspaces' prices of a live config, by workspace
// name; they outlast reloads. Reads are lock-free, and a write replaces
// one workspace's entry without copying the others'.
type priceBook struct {
	byWS sync.Map // workspace name -> *workspacePrices
}

// get returns a workspace's prices; nil: none read yet.
func (b *priceBook) get(workspace string) *workspacePrices {
	if wp, ok := b.byWS.Load(workspace); ok {
		return wp.(*workspacePrices)
	}
	return nil
}

// set replaces a workspace's prices.
func (b *priceBook) set(workspace string, wp *workspacePrices) { b.byWS.Store(workspace, wp) }

// pricer reads every workspace's price table and the balance its key
// sees, at start, after each reload and every pricing.refresh, one
// workspace at a time. A failed or degraded read keeps the last good
// table, and is retried after a minute.
type pricer struct {
	current func() *snapshot
	book    *priceBook
	logger  func() *zap.Logger
	*passes
}

// pricerRetry is how soon a failed read is tried again.
const pricerRetry = time.Minute

// newPricer starts a pricer over the snapshots current returns.
func newPricer(current func() *snapshot, book *priceBook, logger func() *zap.Logger) *pricer {
	p := &pricer{current: current, book: book, logger: logger}
	p.passes = startPasses(p.pass)
	return p
}

// pass reads what is due and returns when the next read is (zero:
// nothing to read without a ledger). It stops early once stop is closed.
func (p *pricer) pass(stop <-chan struct{}) time.Time {
	snap := p.current()
	if snap == nil || snap.money == nil {
		return time.Time{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer cancel()
	wait := snap.money.refresh
	now := time.Now()
	for _, ws := range snap.workspaces {
		old := p.book.get(ws.name)
		due := old == nil || now.Sub(old.triedAt) >= snap.money.refresh ||
			old.tableErr != "" && now.Sub(old.triedAt) >= pricerRetry && now.Sub(old.balanceAt) >= pricerRetry
		if !due {
			until := snap.money.refresh - now.Sub(old.triedAt)
			if old.tableErr != "" { // a pass kicked by a reload must not put off the retry
				until = min(until, pricerRetry-now.Sub(old.triedAt))
			}
			wait = min(wait, until)
			continue
		}
		next := p.read(ctx, snap, ws, old)
		p.book.set(ws.name, next)
		if next.tableErr != "" || next.balanceErr != "" {
			wait = min(wait, pricerRetry)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return time.Now().Add(max(wait, time.Second))
}

// read reads one workspace's table and balance with its active key.
func (p *pricer) read(ctx context.Context, snap *snapshot, ws *workspace, old *workspacePrices) *workspacePrices {
	next := &workspacePrices{}
	if old != nil {
		*next = *old
	}
	now := time.Now()
	next.triedAt, next.balanceAt = now, now
	k := activeKey(ws.keys)
	if k == nil {
		next.tableErr, next.balanceErr = "no usable key", "no usable key"
		return next
	}
	log := p.logger().With(zap.String("workspace", ws.name))
	status, header, body, err := readWithKey(ctx, snap.upstream, snap.Upstream.Timeout, snap.store, snap.pacing, k, pricingPath)
	switch {
	case err != nil:
		next.tableErr = err.Error()
	case status == http.StatusForbidden:
		next.tableErr = "403: the key lacks pricing.read"
	case status != http.StatusOK:
		next.tableErr = "answered " + strconv.Itoa(status)
	case header.Get("X-Sms-Gateway-Status") != "":
		next.tableErr = "restlink's pricing cache is degraded (" + header.Get("X-Sms-Gateway-Status") + ")"
	default:
		table, perr := pricing.ParseTable(body)
		if perr != nil {
			next.tableErr = perr.Error()
			break
		}
		if old == nil || old.table == nil || old.tableErr != "" {
			log.Info("price table read", zap.Int("entries", table.Len()), zap.Int("skipped", table.Skipped))
		}
		next.table, next.tableAt, next.tableErr = table, now, ""
	}
	if next.tableErr != "" && (old == nil || old.tableErr != next.tableErr) {
		msg := "the price table could not be read; the last good one is kept"
		if next.table == nil {
			msg = "the price table could not be read, and none was ever read: budgeted sends of this workspace are refused with PRICE_UNKNOWN unless pricing.unknown_rate is set"
		}
		log.Warn(msg, zap.String("reason", next.tableErr))
	}

	status, _, body, err = readWithKey(ctx, snap.upstream, snap.Upstream.Timeout, snap.store, snap.pacing, k, balancePath)
	switch {
	case err != nil:
		next.balanceErr = err.Error()
	case status != http.StatusOK:
		next.balanceErr = "answered " + strconv.Itoa(status)
	default:
		b, berr := pricing.ParseBalance(body)
		if berr != nil {
			next.balanceErr = berr.Error()
			break
		}
		if b.Unavailable {
			// restlink's cache is degraded: its answer says nothing of
			// the balance, nor of the currency.
			if old == nil || old.balance == nil {
				next.balanceErr = "restlink's balance answer is degraded (unavailable: " + b.Reason + ")"
				break
			}
			b.Amount, b.Currency, b.CreditBlocked = old.balance.Amount, old.balance.Currency, old.balance.CreditBlocked
		}
		if b.Currency != snap.money.currency && (old == nil || old.balance == nil || old.balance.Currency != b.Currency) {
			log.Error("restlink reports the account's currency as " + strconv.Quote(b.Currency) + ", not ledger.currency " + strconv.Quote(snap.money.currency) +
				": budgeted sends of this workspace are refused with PRICE_UNKNOWN until the two agree")
		}
		next.balance, next.balanceErr = &b, ""
	}
	return next
}

// readWithKey makes a GET to path with key k, signed if k signs, and
// returns the answer, read whole up to maxPricingAnswer, once it has a
// slot under pp (the account's rate limit; zero: none). A signed GET
// claims its second in claims, as every signed request does.
func readWithKey(ctx context.Context, up *upstream, timeout time.Duration, claims store.Store, pp pacePlan, k *key, path string) (int, http.Header, []byte, error) {
	if err := awaitBackgroundSlot(ctx, claims, pp); err != nil {
		return 0, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := outbound{method: http.MethodGet, path: path, header: http.Header{"User-Agent": noUserAgent}}
	if k.secret != nil {
		ts, sig, err := signRequest(ctx, claims, k, out.method, out.path, nil, time.Now())
		if err != nil {
			return 0, nil, nil, errors.New("signing the request: " + err.Error())
		}
		out.header[headerTimestamp], out.header[headerSignature] = []string{ts}, []string{sig}
	}
	resp, err := out.send(ctx, up, k)
	if err != nil {
		return 0, nil, nil, errors.New("no answer: " + describeTransportError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPricingAnswer+1))
	if err != nil {
		return 0, nil, nil, errors.New("reading the answer: " + describeTransportError(err))
	}
	if len(body) > maxPricingAnswer {
		return 0, nil, nil, errors.New("the answer is larger than 16 MiB")
	}
	return resp.StatusCode, resp.Header, body, nil
}
