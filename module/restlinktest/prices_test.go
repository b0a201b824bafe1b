package restlinktest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPricingTable: a workspace's table is served by GET and POST in
// restlink's names and formats, rates as exact JSON numbers; a workspace
// without one answers [].
func TestPricingTable(t *testing.T) {
	s := start(t, Options{})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.SetPrices(16, []Price{
		{MCC: "234", MNC: "01", MCCMNC: "23401", Dialcode: "447", Country: "United Kingdom", Network: "EE",
			Rate: "0.0085", PrevRate: "0.0090", RateStart: start},
		{MCC: "310", MNC: "260", MCCMNC: "310260", Dialcode: "1", Country: "United States", Network: "T-Mobile",
			Rate: "0.10", PrevRate: "0.0095", ChangeType: "Increase",
			RateStart: time.Date(2026, 2, 1, 12, 30, 15, 999_999_999, time.FixedZone("CET", 3600)),
			RateEnd:   time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{Dialcode: "33", Rate: "12", RateStart: start},
	})
	want := `[` +
		`{"mcc":"234","mnc":"01","mccmnc":"23401","dialcode":"447","country":"United Kingdom","network":"EE",` +
		`"rate":0.0085,"prev_rate":0.009,"rate_start_date":"2026.01.01 00:00:00","rate_end_date":"2100.01.01 00:00:00","change_type":"Decrease"},` +
		`{"mcc":"310","mnc":"260","mccmnc":"310260","dialcode":"1","country":"United States","network":"T-Mobile",` +
		`"rate":0.1,"prev_rate":0.0095,"rate_start_date":"2026.02.01 11:30:15","rate_end_date":"2026.03.01 00:00:00","change_type":"Increase"},` +
		`{"mcc":"","mnc":"","mccmnc":"","dialcode":"33","country":"","network":"",` +
		`"rate":12,"prev_rate":12,"rate_start_date":"2026.01.01 00:00:00","rate_end_date":"2100.01.01 00:00:00","change_type":"Same"}` +
		`]`
	for _, method := range []string{"GET", "POST"} {
		a := do(t, s, method, "/api/v1/user/pricing", `{"ignored":true}`, "X-API-Key: "+keyMain)
		if a.status != 200 || string(a.body) != want || a.header.Get("X-Sms-Gateway-Status") != "" {
			t.Errorf("%s: got %d %v\n%s\nwant\n%s", method, a.status, a.header, a.body, want)
		}
	}
	if got := s.Prices(16); len(got) != 3 || got[1].RateStart != time.Date(2026, 2, 1, 11, 30, 15, 0, time.UTC) ||
		got[0].PrevRate != "0.009" || got[2].PrevRate != "12" || got[2].ChangeType != "Same" {
		t.Errorf("Prices: %+v", got)
	}

	// The other workspaces have no table.
	for _, key := range []string{keyTest, keyOther} {
		a := do(t, s, "GET", "/api/v1/user/pricing", "", "X-API-Key: "+key)
		if a.status != 200 || string(a.body) != "[]" || a.header.Get("X-Sms-Gateway-Status") != "" {
			t.Errorf("a workspace without a table: %d %v %s", a.status, a.header, a.body)
		}
	}
	// Nor has workspace 16 once its table is removed.
	s.SetPrices(16, nil)
	if a := do(t, s, "GET", "/api/v1/user/pricing", "", "X-API-Key: "+keyMain); string(a.body) != "[]" || s.Prices(16) != nil {
		t.Errorf("after removing the table: %s", a.body)
	}
	wantAnswer(t, do(t, s, "GET", "/api/v1/user/pricing/12", "", "X-API-Key: "+keyMain), 200, "")
}

// TestPricingPermission: a key without pricing.read is refused with
// restlink's 403 FORBIDDEN, table or not.
func TestPricingPermission(t *testing.T) {
	s := NewServer(Workspace{ID: 16, APIKeys: []Key{{Value: "sk_prod_balanceonly", Permissions: []string{"balance.read"}}}})
	defer s.Close()
	s.SetPrices(16, []Price{{Dialcode: "44", Rate: "0.01"}})
	for _, method := range []string{"GET", "POST"} {
		wantAnswer(t, do(t, s, method, "/api/v1/user/pricing", "", "X-API-Key: sk_prod_balanceonly"), 403, "FORBIDDEN")
	}
}

// TestSetPricesRefuses entries the fake cannot honour.
func TestSetPricesRefuses(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, p := range map[string]Price{
		"empty dialcode":         {Rate: "0.01"},
		"dialcode with +":        {Dialcode: "+44", Rate: "0.01"},
		"no rate":                {Dialcode: "44"},
		"rate finer than micros": {Dialcode: "44", Rate: "0.0000001"},
		"rate in a float form":   {Dialcode: "44", Rate: "8.5e-3"},
		"negative rate":          {Dialcode: "44", Rate: "-0.01"},
		"bad previous rate":      {Dialcode: "44", Rate: "0.01", PrevRate: "x"},
		"ends as it starts":      {Dialcode: "44", Rate: "0.01", RateStart: start, RateEnd: start},
		"ends before it starts":  {Dialcode: "44", Rate: "0.01", RateStart: start, RateEnd: start.Add(-time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("SetPrices accepted %+v", p)
				}
			}()
			New().SetPrices(16, []Price{p})
		})
	}
}

// TestChargeByPrice: each recipient pays its segments times the rate of
// the longest current dialcode prefixing its number (the highest of
// several), else the price per segment; total_cost is their exact sum.
func TestChargeByPrice(t *testing.T) {
	clock := newClock() // 2026-02-13 10:15:00 UTC
	s := start(t, Options{Now: clock.Now})
	now := clock.Now()
	s.SetPrices(16, []Price{
		{Dialcode: "1", Rate: "0.01"},
		{Dialcode: "1415", Rate: "0.02", RateStart: now.Add(-time.Hour)},
		{Dialcode: "14155", Rate: "0.03", RateStart: now.Add(time.Minute)},                             // not yet
		{Dialcode: "44", Rate: "0.05", RateStart: now.Add(-48 * time.Hour), RateEnd: now},              // ends now
		{Dialcode: "44", Rate: "0.04", RateStart: now, RateEnd: now.Add(time.Hour)},                    // starts now
		{Dialcode: "447", Rate: "0.06", RateStart: now.Add(-time.Hour), RateEnd: now.Add(time.Second)}, // two for one dialcode
		{Dialcode: "447", Rate: "0.07", RateStart: now.Add(-time.Hour), RateEnd: now.Add(2 * time.Hour)},
		{Dialcode: "4477", Rate: "0.5", RateEnd: now.Add(-time.Second)}, // ended
		{Dialcode: "33", Rate: "0.02"},
		{Dialcode: "3361", Rate: "0.001"}, // the longest prefix, though cheaper
		{Dialcode: "81", Rate: "0.009"},   // two for one dialcode, the other way round
		{Dialcode: "81", Rate: "0.008"},
	})
	to := []string{"+14155551234", "+12125551234", "+447700900123", "+441632960001", "+33612345678", "+819012345678"}
	for _, tc := range []struct {
		name  string
		at    time.Duration // after now
		rates []string      // per recipient
		total string        // 2 segments each
	}{
		{"now", 0, []string{"0.02", "0.01", "0.07", "0.04", "0.001", "0.009"}, "0.3"},
		{"a minute later", time.Minute, []string{"0.03", "0.01", "0.07", "0.04", "0.001", "0.009"}, "0.32"},
		// No entry for 44 is current any more, and 1 does not prefix it.
		{"an hour later", time.Hour, []string{"0.03", "0.01", "0.07", "0.0085", "0.001", "0.009"}, "0.257"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.mu.Lock()
			clock.now = now.Add(tc.at)
			clock.mu.Unlock()
			before := s.BalanceMicros(DefaultAccountID)
			a := send(t, s, keyMain, sendBody(strings.Repeat("a", 200), to...))
			wantAnswer(t, a, 200, "")
			if !strings.Contains(string(a.body), `"total_cost":`+tc.total+`,`) {
				t.Errorf("total_cost not %s: %s", tc.total, a.body)
			}
			if got := before - s.BalanceMicros(DefaultAccountID); micros(got).String() != tc.total {
				t.Errorf("balance charged %s, want %s", micros(got), tc.total)
			}
			var resp SendResponse
			a.decode(t, &resp)
			for i, m := range resp.Messages {
				var st struct{ Message MessageStatus }
				do(t, s, "GET", "/api/v1/sms/status/"+m.MessageID, "", "X-API-Key: "+keyMain).decode(t, &st)
				if want, _ := mustMicros("rate", tc.rates[i]).times(2); st.Message.Cost != want.number() {
					t.Errorf("%s costs %s, want 2 × %s", m.DNIS, st.Message.Cost, tc.rates[i])
				}
			}
		})
	}

	t.Run("another workspace", func(t *testing.T) {
		a := send(t, s, keyTest, sendBody("hi", "+447700900123"))
		if !strings.Contains(string(a.body), `"total_cost":0.0085,`) {
			t.Errorf("workspace 18, without a table, not charged the price per segment: %s", a.body)
		}
	})
	t.Run("sandbox preview", func(t *testing.T) {
		before := s.Balance(DefaultAccountID)
		a := send(t, s, keySandbox, sendBody("hi", "+447700900123", "+33612345678"))
		if !strings.Contains(string(a.body), `"total_cost":0.071,`) || s.Balance(DefaultAccountID) != before {
			t.Errorf("sandbox send %s, balance %s then %s; want a preview of 0.071 and no charge", a.body, before, s.Balance(DefaultAccountID))
		}
	})
	t.Run("402 estimate", func(t *testing.T) {
		s.SetBalance(DefaultAccountID, "0.070999")
		a := send(t, s, keyMain, sendBody("hi", "+447700900123", "+33612345678"))
		wantAnswer(t, a, 402, "INSUFFICIENT_BALANCE")
		var body InsufficientBalanceBody
		a.decode(t, &body)
		if body.EstimatedCost != "0.071" || body.Balance != "0.070999" {
			t.Errorf("402 body %s", a.body)
		}
		s.SetBalance(DefaultAccountID, "0.071")
		wantAnswer(t, send(t, s, keyMain, sendBody("hi", "+447700900123", "+33612345678")), 200, "")
		if b := s.Balance(DefaultAccountID); b != "0" {
			t.Errorf("balance %s after spending it all", b)
		}
	})
}

// TestPricingJSONTypes: the answer decodes with the documented field
// names, rates as JSON numbers and the rest as strings.
func TestPricingJSONTypes(t *testing.T) {
	s := start(t, Options{})
	s.SetPrices(16, []Price{{MCC: "208", MNC: "01", MCCMNC: "20801", Dialcode: "336", Country: "France", Network: "Orange", Rate: "0.045"}})
	var raw []map[string]any
	do(t, s, "GET", "/api/v1/user/pricing", "", "X-API-Key: "+keyMain).decode(t, &raw)
	if len(raw) != 1 || len(raw[0]) != 11 {
		t.Fatalf("entries %v", raw)
	}
	for k, v := range raw[0] {
		_, isNumber := v.(float64)
		if (k == "rate" || k == "prev_rate") != isNumber {
			t.Errorf("%s is %T", k, v)
		}
	}
	var exact []struct{ Rate json.Number }
	do(t, s, "GET", "/api/v1/user/pricing", "", "X-API-Key: "+keyMain).decode(t, &exact)
	if exact[0].Rate != "0.045" {
		t.Errorf("rate %s", exact[0].Rate)
	}
}
