package restlinktest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Price is one network's entry in a workspace's price table, with the
// fields of restlink's GET /user/pricing. The fake charges a recipient the
// rate of the entry current at the send whose dialcode is the longest
// prefix of the recipient's number (see SetPrices).
type Price struct {
	// MCC, MNC and MCCMNC identify the network; restlink does not say
	// their JSON types, and the fake writes them as strings, leading zeros
	// kept ("234", "01", "23401").
	MCC    string
	MNC    string
	MCCMNC string
	// Dialcode is the prefix of the numbers the entry prices, in digits
	// without '+' ("44", "447"); also written as a string.
	Dialcode string
	Country  string
	Network  string
	// Rate is the price of one segment in the account's currency, an
	// exact decimal of at most 6 places ("0.0085"); 0 or more.
	Rate string
	// PrevRate is the rate before this one, the same way; empty means the
	// same as Rate.
	PrevRate string
	// RateStart is when the rate starts to apply; zero means always. It
	// is kept to the whole second, in UTC, as restlink writes it.
	RateStart time.Time
	// RateEnd is when the rate stops applying; zero means never, written
	// as restlink's sentinel 2100.01.01 00:00:00. Kept to the whole
	// second, in UTC, too.
	RateEnd time.Time
	// ChangeType is Same, Increase or Decrease; empty means the one that
	// Rate and PrevRate tell.
	ChangeType string
}

// Restlink's pricing dates: the layout, always UTC, and the end date of a
// rate that is current.
const (
	pricingTime    = "2006.01.02 15:04:05"
	openRateEnd    = "2100.01.01 00:00:00"
	changeSame     = "Same"
	changeIncrease = "Increase"
	changeDecrease = "Decrease"
)

// price is a price table entry as the fake holds it: the Price normalized
// (PrevRate and ChangeType filled in, dates whole UTC seconds) and its
// amounts read.
type price struct {
	Price
	rate, prev micros
}

// current reports whether the rate applies at the time now: RateStart ≤
// now < RateEnd.
func (p *price) current(now time.Time) bool {
	return !now.Before(p.RateStart) && (p.RateEnd.IsZero() || now.Before(p.RateEnd))
}

// SetPrices replaces a workspace's price table; nil or empty removes it,
// and GET /user/pricing answers [] again. A send from the workspace
// charges each accepted recipient its segments times the rate of the
// entry whose dialcode is the longest prefix of the recipient's number
// among the entries current at the send (RateStart ≤ now < RateEnd, by
// the fake's clock); of several such entries with that dialcode, the
// highest rate. A recipient no entry prices is charged
// Options.PricePerSegment.
//
// It panics, as httptest does on a setup it cannot honour, on an entry
// whose Dialcode is not digits, whose Rate or PrevRate is not an exact
// amount of at most 6 places or is negative, or whose RateEnd is not
// after its RateStart.
func (f *Fake) SetPrices(workspaceID int64, prices []Price) {
	table := make([]price, 0, len(prices))
	for _, p := range prices {
		table = append(table, normalizePrice(p))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.workspaceFor(workspaceID)
	ws.prices = nil
	if len(table) > 0 {
		ws.prices = table
	}
}

// Prices returns a copy of a workspace's price table, normalized as the
// fake holds and serves it: PrevRate and ChangeType filled in, dates to
// the whole second in UTC. Nil if it has none.
func (f *Fake) Prices(workspaceID int64) []Price {
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.workspaces[workspaceID]
	if ws == nil || ws.prices == nil {
		return nil
	}
	out := make([]Price, len(ws.prices))
	for i, p := range ws.prices {
		out[i] = p.Price
	}
	return out
}

// normalizePrice checks an entry and fills in its defaults; it panics on
// an entry the fake cannot honour.
func normalizePrice(p Price) price {
	fail := func(why string) {
		panic("restlinktest: SetPrices: the entry for dialcode " + strconv.Quote(p.Dialcode) + " " + why)
	}
	if !isDigits(p.Dialcode) {
		fail("has a dialcode that is not digits")
	}
	if p.PrevRate == "" {
		p.PrevRate = p.Rate
	}
	rate := mustMicros("SetPrices Rate", p.Rate)
	prev := mustMicros("SetPrices PrevRate", p.PrevRate)
	if rate < 0 || prev < 0 {
		fail("has a negative rate")
	}
	p.Rate, p.PrevRate = rate.String(), prev.String()
	if !p.RateStart.IsZero() {
		p.RateStart = p.RateStart.UTC().Truncate(time.Second)
	}
	if !p.RateEnd.IsZero() {
		p.RateEnd = p.RateEnd.UTC().Truncate(time.Second)
		if !p.RateEnd.After(p.RateStart) {
			fail("ends before it starts")
		}
	}
	if p.ChangeType == "" {
		switch {
		case rate > prev:
			p.ChangeType = changeIncrease
		case rate < prev:
			p.ChangeType = changeDecrease
		default:
			p.ChangeType = changeSame
		}
	}
	return price{Price: p, rate: rate, prev: prev}
}

// rate is what one segment to number costs, for a send of workspace ws
// at the time now: the rate of the longest current dialcode in its price
// table that prefixes the number (the highest of several), else the
// price per segment. f.mu is held.
func (f *Fake) rate(ws *workspace, number string, now time.Time, opts Options) micros {
	digits := strings.TrimPrefix(number, "+")
	best, found, longest := micros(0), false, 0
	for i := range ws.prices {
		p := &ws.prices[i]
		n := len(p.Dialcode)
		if n < longest || !strings.HasPrefix(digits, p.Dialcode) || !p.current(now) {
			continue
		}
		if n > longest || p.rate > best {
			best, found, longest = p.rate, true, n
		}
	}
	if !found {
		return opts.pricePerSegment
	}
	return best
}

// pricingEntry is an entry of GET /user/pricing, in restlink's names.
type pricingEntry struct {
	MCC           string      `json:"mcc"`
	MNC           string      `json:"mnc"`
	MCCMNC        string      `json:"mccmnc"`
	Dialcode      string      `json:"dialcode"`
	Country       string      `json:"country"`
	Network       string      `json:"network"`
	Rate          json.Number `json:"rate"`
	PrevRate      json.Number `json:"prev_rate"`
	RateStartDate string      `json:"rate_start_date"`
	RateEndDate   string      `json:"rate_end_date"`
	ChangeType    string      `json:"change_type"`
}

// pricing serves GET and POST /user/pricing (restlink ignores POST's
// body): the workspace's price table, or [] if it has none, unless a
// fault of the account cache answers.
func (f *Fake) pricing(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault := f.matchFault(c.r.URL.Path, c.ws, onPricing); fault != nil {
		return fault.accountAnswer()
	}
	ws := f.workspaces[c.ws]
	entries := make([]pricingEntry, 0, len(ws.prices))
	for _, p := range ws.prices {
		end := openRateEnd
		if !p.RateEnd.IsZero() {
			end = p.RateEnd.Format(pricingTime)
		}
		entries = append(entries, pricingEntry{
			MCC: p.MCC, MNC: p.MNC, MCCMNC: p.MCCMNC, Dialcode: p.Dialcode, Country: p.Country, Network: p.Network,
			Rate: p.rate.number(), PrevRate: p.prev.number(),
			RateStartDate: p.RateStart.Format(pricingTime), RateEndDate: end, ChangeType: p.ChangeType,
		})
	}
	return okResponse(entries)
}
