package restlink

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// TestSubscribersFollowEveryPublish: a subscriber is told of the snapshot
// serving when it subscribes and of each snapshot published after, in
// order, and of none once it cancels; a reload that changes nothing
// publishes nothing.
func TestSubscribersFollowEveryPublish(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	write := func(workspaces string) {
		t.Helper()
		if err := os.WriteFile(path, []byte("upstream: {url: \"http://127.0.0.1:1\"}\nrotation: {verify: false}\nworkspaces:\n"+workspaces), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("  main: {id: 16, main: true, keys: [{value: k1}]}\n")
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	lc, err := acquireLiveConfig(ctx, path, envOf())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = liveConfigs.Delete(path) }()

	var seen []int // workspaces in each snapshot told
	stop := Live{lc}.OnPublish(func() { seen = append(seen, len(lc.current.Load().workspaces)) })
	write("  main: {id: 16, main: true, keys: [{value: k1}]}\n  other: {id: 17, keys: [{value: k2}]}\n")
	if err := lc.reload(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if err := lc.reload(caddy.Context{}); err != nil { // unchanged
		t.Fatal(err)
	}
	stop()
	write("  main: {id: 16, main: true, keys: [{value: k1}]}\n")
	if err := lc.reload(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Errorf("told of snapshots with %v workspaces, want [1 2]", seen)
	}
}

// TestStatusSectionsFollowTheFields: sections registered by other modules
// are written after the document's own fields, in order, and the document
// stays one JSON object.
func TestStatusSectionsFollowTheFields(t *testing.T) {
	st := Status{Config: "/etc/restlink/config.yaml", Workspaces: []WorkspaceStatus{},
		Sections: []StatusSection{{Name: "webhooks", Value: map[string]bool{"open": true}}, {Name: "ledger", Value: 1}}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	if string(doc["webhooks"]) != `{"open":true}` || string(doc["ledger"]) != "1" || string(doc["config"]) != `"/etc/restlink/config.yaml"` {
		t.Errorf("got %s", b)
	}
	if want := `"ledger":1}`; string(b[len(b)-len(want):]) != want {
		t.Errorf("the sections are not last, in order: %s", b)
	}
}
