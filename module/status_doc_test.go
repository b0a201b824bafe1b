package restlink_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
	"github.com/23telecom/restlink-sidecar/module/webhookreceiver"
)

// TestStatusSampleIsCurrent: the status document shown in
// docs/operations.md has every field a real sidecar's status has (with
// keys, a send policy and webhooks), and no field the code does not have.
func TestStatusSampleIsCurrent(t *testing.T) {
	wb := startWebhookBox(t, "policy:\n  default:\n    rate: {recipients: 600, per: 1m}\n    daily_segments: 50000\n")
	if _, err := wb.fake.SendWebhook(context.Background(), 16, restlinktest.EventDelivery, dlr(1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the event to reach the app", func() bool { return len(wb.app.Accepted()) == 1 })
	if a := wb.do(http.MethodPost, "/api/v1/sms/send", `{"to":["+447700900123"],"message":"hi","sender_id":"Shop"}`, "X-Tenant: acme"); a.status != http.StatusOK {
		t.Fatalf("a send: %d %s", a.status, a.body)
	}
	real := wb.doAt(opsURL, http.MethodGet, "/status", "").body

	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(doc), "### Status")
	_, after, _ = strings.Cut(after, "```json\n")
	sample, _, _ := strings.Cut(after, "```")

	documented, shown := jsonPaths(t, sample), jsonPaths(t, real)
	// The webhook receiver adds its section to the core's document.
	known := append(typePaths(reflect.TypeFor[restlink.Status](), ""), "webhooks")
	known = append(known, typePaths(reflect.TypeFor[webhookreceiver.Status](), "webhooks")...)
	for _, p := range shown {
		if !slices.Contains(documented, p) {
			t.Errorf("docs/operations.md's status sample lacks %s", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(known, p) {
			t.Errorf("docs/operations.md's status sample shows %s, which Status does not have", p)
		}
	}
	if t.Failed() {
		t.Logf("a real status document:\n%s", real)
	}
}

// jsonPaths lists the field paths of a JSON document ("workspaces[].keys[].fingerprint").
func jsonPaths(t *testing.T, doc string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%v in:\n%s", err, doc)
	}
	var paths []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				p := strings.TrimPrefix(prefix+"."+k, ".")
				if !slices.Contains(paths, p) {
					paths = append(paths, p)
				}
				walk(p, sub)
			}
		case []any:
			for _, sub := range v {
				walk(prefix+"[]", sub)
			}
		}
	}
	walk("", v)
	return paths
}

// typePaths lists the JSON field paths a type can have.
func typePaths(typ reflect.Type, prefix string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Slice:
		return typePaths(typ.Elem(), prefix+"[]")
	case reflect.Struct:
		if typ == reflect.TypeFor[time.Time]() {
			return nil
		}
	default:
		return nil
	}
	var paths []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := strings.TrimPrefix(prefix+"."+name, ".")
		paths = append(paths, p)
		paths = append(paths, typePaths(f.Type, p)...)
	}
	return paths
}
