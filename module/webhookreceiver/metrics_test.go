package webhookreceiver

import (
	"os"
	"strings"
	"testing"

	"github.com/23telecom/restlink-sidecar/internal/metric"
)

// TestMetricsTableNamesEveryMetric: docs/operations.md's metrics table
// lists every webhook metric the receiver's collector describes.
func TestMetricsTableNamesEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	names := metric.Names(new(collector))
	for _, name := range names {
		if !strings.Contains(string(doc), "| `"+name+"`") && !strings.Contains(string(doc), ", `"+name+"`") {
			t.Errorf("docs/operations.md's metrics table does not name %s", name)
		}
	}
	if len(names) != 9 {
		t.Fatalf("the collector describes %d metrics, want the 9 webhook metrics", len(names))
	}
}
