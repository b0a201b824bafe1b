package restlink

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// TestPriceTableAgeCountsFromTheLastGoodRead: a read that fails (here
// restlink's degraded pricing cache) keeps the last good table and its
// date, so that restlink_price_table_age_seconds and the status's read_at
// say how old the prices in use are, and the read is tried again a
// minute later. Before, every attempt dated the table: its age never
// grew past pricing.refresh, whatever failed.
func TestPriceTableAgeCountsFromTheLastGoodRead(t *testing.T) {
	const apiKey = "sk_prod_PRICEagePRICEage0001"
	fake := restlinktest.NewServer(restlinktest.Workspace{ID: 16, Name: "main", Main: true, Keys: []string{apiKey}})
	defer fake.Close()
	fake.SetPrices(16, []restlinktest.Price{{Dialcode: "44", Rate: "0.04", Country: "c44", Network: "n"}})
	u, err := url.Parse(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	ws := &workspace{workspacePlan: &workspacePlan{name: "main", id: 16, main: true}, keys: []*key{{header: [1]string{apiKey}, keyState: new(keyState)}}}
	book := new(priceBook)
	snap := &snapshot{
		plan:       &plan{Config: &Config{Upstream: UpstreamConfig{Timeout: 5 * time.Second}}, money: &moneyPlan{currency: "EUR", refresh: time.Hour}},
		upstream:   &upstream{origin: origin{scheme: "http", host: u.Host}, transport: &http.Transport{}},
		workspaces: []*workspace{ws},
		accounts:   &accounts{},
		prices:     book,
	}
	p := &pricer{current: func() *snapshot { return snap }, book: book, logger: zap.NewNop}
	stop := make(chan struct{})
	// wait is how long after now a pass asks to be run again.
	wait := func() time.Duration { return time.Until(p.pass(stop)).Round(time.Second) }

	if wait := wait(); wait != time.Hour {
		t.Errorf("after a good read the pricer sleeps %v, want pricing.refresh (1h)", wait)
	}
	good := book.get("main")
	if good == nil || good.table == nil || good.table.Len() != 1 || good.tableErr != "" {
		t.Fatalf("the first read: %+v", good)
	}
	// The table was read two hours ago, and is due again.
	readAt := good.tableAt.Add(-2 * time.Hour)
	old := *good
	old.tableAt, old.triedAt = readAt, readAt
	book.set("main", &old)

	fake.Inject(restlinktest.Fault{WorkspaceID: 16, PricingDegraded: true})
	if wait := wait(); wait != pricerRetry {
		t.Errorf("after a failed read the pricer sleeps %v, want %v", wait, pricerRetry)
	}
	failed := book.get("main")
	if failed.tableErr == "" || failed.table != good.table {
		t.Fatalf("a degraded read: error %q, table kept %v", failed.tableErr, failed.table == good.table)
	}
	if !failed.tableAt.Equal(readAt) {
		t.Errorf("a failed read dated the table %v, want its last good read %v", failed.tableAt, readAt)
	}
	if age := time.Since(failed.tableAt); age < 2*time.Hour {
		t.Errorf("the table's age is %v after a failed read, want the 2h since the last good one", age)
	}
	if ps := pricingStatus(snap, ws); ps.ReadAt == nil || !ps.ReadAt.Equal(readAt) || ps.Problem == "" {
		t.Errorf("status: read_at %v, problem %q; want %v and the reason", ps.ReadAt, ps.Problem, readAt)
	}
	// A pass kicked by a reload within the minute reads nothing, and
	// keeps the retry due a minute after the failed read.
	if wait := wait(); wait > pricerRetry || book.get("main") != failed {
		t.Errorf("a pass right after the failed read: sleeps %v, read again %v; want at most %v and no read", wait, book.get("main") != failed, pricerRetry)
	}
}
