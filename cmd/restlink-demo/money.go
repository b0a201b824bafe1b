package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// setPrices gives each simulated workspace its product's price table:
// main's and test-space's products charge differently.
func setPrices(fake *restlinktest.Fake) {
	for ws, rates := range map[int64]map[string]string{
		16: {"1": "0.0085", "44": "0.035", "33": "0.065"},
		18: {"1": "0.0092", "44": "0.04", "33": "0.07"},
	} {
		var prices []restlinktest.Price
		for dialcode, rate := range rates {
			prices = append(prices, restlinktest.Price{Dialcode: dialcode, Country: "+" + dialcode, Network: "simulated", Rate: rate})
		}
		fake.SetPrices(ws, prices)
	}
}

// showBudget sends as tenant acme, whose daily budget is 0.04 EUR, until
// the sidecar refuses a send with 402 BUDGET_EXCEEDED, and prints what
// each send cost and the refusal. It returns what was not as it should be.
func showBudget(base string) []string {
	fmt.Println("Tenant acme has a daily budget of 0.04 EUR; its workspace's product charges 0.0092 EUR per segment to +1.")
	fmt.Println("It keeps sending until the sidecar refuses:")
	fmt.Println()
	for i := 1; i <= 10; i++ {
		status, body, err := post(base+"/api/v1/sms/send", map[string]string{"X-Tenant": "acme"})
		if err != nil {
			return []string{err.Error()}
		}
		if status == 200 {
			var a struct {
				Summary struct {
					TotalCost json.Number `json:"total_cost"`
				} `json:"summary"`
			}
			_ = json.Unmarshal([]byte(body), &a)
			fmt.Printf("  send %d: 200, restlink charged %s EUR\n", i, a.Summary.TotalCost)
			continue
		}
		var refusal struct {
			ErrorCode     string      `json:"error_code"`
			Budget        json.Number `json:"budget"`
			Spent         json.Number `json:"spent"`
			EstimatedCost json.Number `json:"estimated_cost"`
			Period        string      `json:"period"`
			ResetsAt      string      `json:"resets_at"`
		}
		_ = json.Unmarshal([]byte(body), &refusal)
		fmt.Printf("  send %d: %d %s: %s budget %s EUR, spent %s, this send %s; resets at %s; nothing was sent\n\n",
			i, status, refusal.ErrorCode, refusal.Period, refusal.Budget, refusal.Spent, refusal.EstimatedCost, refusal.ResetsAt)
		if status != 402 || refusal.ErrorCode != "BUDGET_EXCEEDED" {
			return []string{fmt.Sprintf("acme's send %d was answered %d %s, not 402 BUDGET_EXCEEDED", i, status, refusal.ErrorCode)}
		}
		return nil
	}
	return []string{"acme's budget never refused a send"}
}

// showUsage prints the usage export of the demo's ledger, as a platform
// team would bill its tenants from it.
func showUsage(sidecarBin, config string) []string {
	fmt.Println()
	fmt.Println("What each tenant sent and spent, from the ledger (restlink-sidecar usage config.yaml --by tenant,country):")
	fmt.Println()
	out, err := exec.Command(sidecarBin, "usage", config, "--by", "tenant,country").CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fmt.Println("  " + line)
	}
	if err != nil {
		return []string{"usage: " + err.Error()}
	}
	if !strings.Contains(string(out), "acme,US,") {
		fmt.Fprintln(os.Stderr, string(out))
		return []string{"the usage export has no row for acme's sends"}
	}
	return nil
}
