package restlink

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestFingerprint(t *testing.T) {
	// sha256("abc") = ba7816bf…
	if got := Fingerprint("abc"); got != "ba7816bf" {
		t.Errorf("Fingerprint = %q", got)
	}
}

func TestReadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lookup := envOf("KEY_SET=  env-key \n", "KEY_EMPTY=").lookup()
	for _, tc := range []struct {
		name     string
		src      KeySource
		want     string
		wantErr  string
		wantWarn string
	}{
		{"file trimmed", KeySource{Source: Source{File: write("a.key", "\n  file-key\t\n", 0o600)}}, "file-key", "", ""},
		{"file readable by others", KeySource{Source: Source{File: write("b.key", "k", 0o644)}}, "k", "", "readable by group or others (mode 0644)"},
		{"file missing", KeySource{Source: Source{File: filepath.Join(dir, "missing.key")}}, "", "no such file", ""},
		{"file empty", KeySource{Source: Source{File: write("c.key", " \n", 0o600)}}, "", "is empty", ""},
		{"file is a directory", KeySource{Source: Source{File: dir}}, "", "not a regular file", ""},
		{"file with two lines", KeySource{Source: Source{File: write("d.key", "abc\ndef", 0o600)}}, "", "cannot be sent in an HTTP header (at byte 3)", ""},
		{"env trimmed", KeySource{Source: Source{Env: "KEY_SET"}}, "env-key", "", ""},
		{"env unset", KeySource{Source: Source{Env: "KEY_UNSET"}}, "", "KEY_UNSET is not set", ""},
		{"env empty", KeySource{Source: Source{Env: "KEY_EMPTY"}}, "", "KEY_EMPTY is empty", ""},
		{"literal", KeySource{Source: Source{Value: "lit"}}, "lit", "", "literal key value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, _, warnings, err := readKey(tc.src, lookup, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			if w := strings.Join(warnings, "\n"); (tc.wantWarn == "") != (w == "") || !strings.Contains(w, tc.wantWarn) {
				t.Errorf("warnings %q, want %q", w, tc.wantWarn)
			}
		})
	}
}

// TestReadKeyErrorsHoldNoKey: a key with a bad byte is reported by position.
func TestReadKeyErrorsHoldNoKey(t *testing.T) {
	_, _, _, _, err := readKey(KeySource{Source: Source{Value: "rl_live_SECRET secret"}}, nil, nil)
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadKeysKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	os.WriteFile(a, []byte("key-a1"), 0o600)
	os.WriteFile(b, []byte("key-b1"), 0o600)
	cfg, err := parseConfig([]byte("rotation: {verify: false}\nworkspaces:\n  w:\n    id: 1\n    keys:\n      - file: "+a+"\n      - file: "+b+"\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 0)
	first := loadKeys(cfg.workspaces, cfg.Rotation.Verify, nil, nil, nil, t0)
	if len(first.errs) != 0 || len(first.keys[0]) != 2 {
		t.Fatalf("first load: %v %v", first.errs, first.keys)
	}
	first.keys[0][0].demoted.Store(true)

	// a is deleted, b rotates: a keeps its last good key, b gets a new one.
	os.Remove(a)
	os.WriteFile(b, []byte("key-b2"), 0o600)
	second := loadKeys(cfg.workspaces, cfg.Rotation.Verify, nil, nil, first, time.Unix(2000, 0))
	keys := second.keys[0]
	if len(second.errs) != 0 || len(keys) != 2 {
		t.Fatalf("second load: %v %v", second.errs, keys)
	}
	if keys[0].header[0] != "key-a1" || !keys[0].stale || !keys[0].demoted.Load() || !keys[0].loadedAt().Equal(t0) {
		t.Errorf("a: %+v loadedAt %v demoted %v", keys[0], keys[0].loadedAt(), keys[0].demoted.Load())
	}
	if keys[1].header[0] != "key-b2" || keys[1].stale || !keys[1].loadedAt().Equal(time.Unix(2000, 0)) {
		t.Errorf("b: %+v", keys[1])
	}
	if len(second.unreadable["w"]) != 1 || !strings.Contains(strings.Join(second.warnings, "\n"), "keeping its last good key "+Fingerprint("key-a1")) {
		t.Errorf("unreadable %v warnings %q", second.unreadable, second.warnings)
	}

	// Without a last good key, the source is an error.
	third := loadKeys(cfg.workspaces, cfg.Rotation.Verify, nil, nil, nil, t0)
	if len(third.errs) != 1 || len(third.keys[0]) != 1 {
		t.Errorf("third load: %v %v", third.errs, third.keys)
	}

	// a comes back with new material: not demoted any more.
	os.WriteFile(a, []byte("key-a2"), 0o600)
	fourth := loadKeys(cfg.workspaces, cfg.Rotation.Verify, nil, nil, second, t0)
	if k := fourth.keys[0][0]; k.header[0] != "key-a2" || k.demoted.Load() || k.stale {
		t.Errorf("a after rotation: %+v demoted %v", k, k.demoted.Load())
	}
}

func TestLoadKeysSameMaterialTwice(t *testing.T) {
	cfg, err := parseConfig([]byte("workspaces:\n  w:\n    id: 1\n    keys: [{value: k1}, {value: k1}, {value: k2}]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if kl := loadKeys(cfg.workspaces, cfg.Rotation.Verify, nil, nil, nil, time.Now()); len(kl.keys[0]) != 2 {
		t.Errorf("keys = %d, want 2", len(kl.keys[0]))
	}
}

func TestCheckSharedKeys(t *testing.T) {
	cfg, _ := parseConfig([]byte("workspaces:\n  a:\n    id: 1\n    keys: [{value: same}]\n  b:\n    id: 2\n    keys: [{value: same}]\n"), noEnv)
	err := checkSharedKeys(cfg.workspaces, loadKeys(cfg.workspaces, cfg.Rotation.Verify, nil, nil, nil, time.Now()).keys)
	if err == nil || !strings.Contains(err.Error(), "workspaces a and b have the same key (fingerprint "+Fingerprint("same")+")") {
		t.Errorf("err = %v", err)
	}
}

func TestOrderKeys(t *testing.T) {
	states := map[keyID]*keyState{}
	k1 := newKey(&KeySource{Source: Source{Value: "1"}}, "one", "", time.Time{}, states, time.Now())
	k2 := newKey(&KeySource{Source: Source{Value: "2"}}, "two", "", time.Time{}, states, time.Now())
	k3 := newKey(&KeySource{Source: Source{Value: "3"}}, "three", "", time.Time{}, states, time.Now())
	keys := []*key{k1, k2, k3}
	var buf [maxKeysPerWorkspace]*key
	order := func() string {
		var s []string
		for _, k := range orderKeys(keys, buf[:0]) {
			s = append(s, k.header[0])
		}
		return strings.Join(s, ",")
	}
	if got := order(); got != "one,two,three" {
		t.Errorf("order = %s", got)
	}
	k1.demoted.Store(true)
	if got := order(); got != "two,three,one" {
		t.Errorf("order = %s", got)
	}
	k3.demoted.Store(true)
	if got := order(); got != "two,one,three" {
		t.Errorf("order = %s", got)
	}
}

// TestKeyFileGroupAccess: group read access warns unless the group is the
// sidecar's own (a Kubernetes Secret with fsGroup, a systemd credential).
func TestKeyFileGroupAccess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.key")
	if err := os.WriteFile(path, []byte("k"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o640)
	if _, _, _, warnings, err := readKey(KeySource{Source: Source{File: path}}, nil, nil); err != nil || len(warnings) != 0 {
		t.Errorf("own group: %v %v", warnings, err)
	}
	other := 65534
	if other == os.Getgid() {
		other = 65533
	}
	if err := os.Chown(path, -1, other); err != nil {
		t.Logf("cannot give the file another group (%v); the foreign-group case needs root", err)
		return
	}
	if _, _, _, warnings, _ := readKey(KeySource{Source: Source{File: path}}, nil, nil); len(warnings) != 1 {
		t.Errorf("foreign group: warnings %v", warnings)
	}
}

// TestHugeKeyFileIsNotRead: a 1 GiB (sparse) file where a key should be is
// refused without being read, and its source keeps its last good key.
func TestHugeKeyFileIsNotRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.key")
	os.WriteFile(path, []byte("key-1"), 0o600)
	cfg, err := parseConfig([]byte("rotation: {verify: false}\nworkspaces:\n  w:\n    id: 1\n    keys: [{file: "+path+"}]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	first := loadKeys(cfg.workspaces, false, nil, nil, nil, time.Now())
	if err := os.Truncate(path, 1<<30); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	second := loadKeys(cfg.workspaces, false, nil, nil, first, time.Now())
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("loading allocated %d bytes", grew)
	}
	if k := second.keys[0]; len(k) != 1 || k[0].header[0] != "key-1" || !k[0].stale {
		t.Errorf("keys %+v, want the last good key, stale", k)
	}
	if w := strings.Join(second.warnings, "\n"); !strings.Contains(w, "is 1073741824 bytes, more than a key can be") {
		t.Errorf("warnings %q", w)
	}
}

// TestKeyLoadSame: a load is the same as the one before when every source
// serves the same value, stale or not, with the same candidate; a new
// candidate, a source gone stale or a changed key is a change (a reload
// then publishes a new snapshot).
// TestCarriedKeysPointToTheNewPlan: a key value carried over to a new
// load (the active value while a candidate waits, or the last good value
// of a source that cannot be read) points to the new plan's source: the
// plan's key sources are one array, which a key of the old plan would
// keep whole.
func TestCarriedKeysPointToTheNewPlan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.key")
	if err := os.WriteFile(path, []byte("key-a"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := []byte("workspaces:\n  w:\n    id: 1\n    keys: [{file: " + path + "}]\n")
	prev := (*keyLoad)(nil)
	for i, change := range []func(){
		func() {},
		func() { os.WriteFile(path, []byte("key-b"), 0o600) }, // a candidate
		func() { os.Remove(path) },                            // stale
	} {
		change()
		cfg, err := parseConfig(text, noEnv) // a new plan each time
		if err != nil {
			t.Fatal(err)
		}
		next := loadKeys(cfg.workspaces, true, nil, nil, prev, time.Now())
		if len(next.keys[0]) == 0 {
			t.Fatalf("step %d: no key", i)
		}
		for _, k := range next.keys[0] {
			if k.source != &cfg.workspaces[0].keys[0] {
				t.Errorf("step %d: key %s (stale %v, candidate %v) points to another plan's source", i, k.header[0], k.stale, k.candidate)
			}
		}
		prev = next
	}
}

func TestKeyLoadSame(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.key")
	write := func(material string) {
		if err := os.WriteFile(path, []byte(material), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("key-a")
	cfg, err := parseConfig([]byte("workspaces:\n  w:\n    id: 1\n    keys: [{file: "+path+"}]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	load := func(prev *keyLoad) *keyLoad { return loadKeys(cfg.workspaces, true, nil, nil, prev, time.Now()) }
	steps := []struct {
		name   string
		change func()
		same   bool
	}{
		{"nothing changed", func() {}, true},
		{"a new value, a candidate", func() { write("key-b") }, false},
		{"the candidate still pending", func() {}, true},
		{"another candidate", func() { write("key-c") }, false},
		{"the source unreadable: the active value, stale", func() { os.Remove(path) }, false},
		{"still unreadable", func() {}, true},
		{"back, with the active value", func() { write("key-a") }, false},
	}
	prev := load(nil)
	for _, step := range steps {
		step.change()
		next := load(prev)
		if got := next.same(prev); got != step.same {
			t.Errorf("%s: same = %v, want %v", step.name, got, step.same)
		}
		prev = next
	}
}
