package restlink_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	restlink "github.com/23telecom/restlink-sidecar/module"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// lastKeyFor returns the key of the upstream's latest request.
func (sc *sidecar) lastKey() string {
	reqs := sc.fake.Requests()
	if len(reqs) == 0 {
		return ""
	}
	return reqs[len(reqs)-1].Key
}

// waitForKey sends requests for tenant acme until the upstream sees key,
// and fails the test if that takes more than two seconds.
func (sc *sidecar) waitForKey(t *testing.T, key, how string) {
	t.Helper()
	start := time.Now()
	eventually(t, 2*time.Second, "the new key after "+how, func() bool {
		return sc.send("/api/v1/sms/send", "X-Tenant: acme").status == 200 && sc.lastKey() == key
	})
	t.Logf("%s: new key in use after %v", how, time.Since(start).Round(time.Millisecond))
}

// TestKeyFileUpdatesArePickedUp: every way a key file gets replaced is seen,
// within two seconds, every time.
func TestKeyFileUpdatesArePickedUp(t *testing.T) {
	sc := startSidecar(t, setup{})
	path := filepath.Join(sc.dir, "test-space.key")
	next := func(i int) string {
		k := fmt.Sprintf("rl_live_ROTATED%03d", i)
		sc.fake.AddKey(k, 18)
		return k
	}
	i := 0
	updates := []struct {
		name   string
		update func(key string)
	}{
		{"in-place write", func(key string) {
			os.WriteFile(path, []byte(key), 0o600)
		}},
		{"truncate then slow write", func(key string) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
			time.Sleep(50 * time.Millisecond)
			f.WriteString(key + "\n")
			f.Close()
		}},
		{"editor's atomic rename", func(key string) {
			tmp := path + ".swp"
			os.WriteFile(tmp, []byte(key), 0o600)
			os.Rename(tmp, path)
		}},
		{"delete then recreate", func(key string) {
			os.Remove(path)
			time.Sleep(100 * time.Millisecond)
			os.WriteFile(path, []byte(key), 0o600)
		}},
	}
	for round := range 2 {
		for _, u := range updates {
			i++
			key := next(i)
			u.update(key)
			sc.waitForKey(t, key, fmt.Sprintf("%s (round %d)", u.name, round+1))
		}
	}
	if logs := sc.logs(); !strings.Contains(logs, `"msg":"workspace keys changed","workspace":"test-space"`) ||
		!strings.Contains(logs, restlink.Fingerprint(fmt.Sprintf("rl_live_ROTATED%03d", i))) {
		t.Error("no log line with the changed keys' fingerprints")
	}
}

// TestKubernetesSecretSwap: a Secret volume updates by swapping the ..data
// symlink to a new timestamped directory; the key file is a symlink through
// it. Repeated, it must be seen every time.
func TestKubernetesSecretSwap(t *testing.T) {
	secrets := t.TempDir()
	version := 0
	swap := func(key string) {
		version++
		dir := fmt.Sprintf("..2026_11_22_%02d", version)
		os.Mkdir(filepath.Join(secrets, dir), 0o755)
		os.WriteFile(filepath.Join(secrets, dir, "test-space.key"), []byte(key), 0o400)
		tmp := filepath.Join(secrets, "..data_tmp")
		os.Symlink(dir, tmp)
		old, _ := os.Readlink(filepath.Join(secrets, "..data"))
		if err := os.Rename(tmp, filepath.Join(secrets, "..data")); err != nil {
			t.Fatal(err)
		}
		if old != "" {
			os.RemoveAll(filepath.Join(secrets, old))
		}
	}
	swap(keyTestA)
	os.Symlink("..data/test-space.key", filepath.Join(secrets, "test-space.key"))

	yaml := strings.Replace(standardYAML, "{{dir}}/test-space.key", secrets+"/test-space.key", 1)
	sc := startSidecar(t, setup{yaml: yaml})
	if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 || sc.lastKey() != keyTestA {
		t.Fatalf("before the swap: %d, key %s", a.status, sc.lastKey())
	}
	for i := range 5 {
		key := fmt.Sprintf("rl_live_K8S%03d", i)
		sc.fake.AddKey(key, 18)
		swap(key)
		sc.waitForKey(t, key, fmt.Sprintf("..data swap %d", i+1))
	}
}

// TestRotationUnderLoad: 8 clients send for several seconds while the key
// file is rotated 20 times, between keys the upstream accepts: not one
// request fails.
func TestRotationUnderLoad(t *testing.T) {
	sc := startSidecar(t, setup{})
	path := filepath.Join(sc.dir, "test-space.key")
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("rl_live_LOAD%03d", i)
		sc.fake.AddKey(keys[i], 18)
	}
	sc.fake.SetRecording(false)

	var sent, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, err := sc.try(http.MethodPost, "/api/v1/sms/send", smsBody, "X-Tenant: acme")
				sent.Add(1)
				if err != nil || a.status != 200 {
					failed.Add(1)
					failures.Store(fmt.Sprintf("%d %v %s", a.status, err, a.body), true)
				}
			}
		}()
	}
	for i, key := range keys {
		tmp := path + ".tmp"
		os.WriteFile(tmp, []byte(key), 0o600)
		os.Rename(tmp, path)
		if i%2 == 0 {
			time.Sleep(300 * time.Millisecond) // a reload happens in between
		} else {
			time.Sleep(20 * time.Millisecond) // within one debounce window
		}
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d requests during 20 rotations", sent.Load())
	if failed.Load() > 0 {
		failures.Range(func(k, _ any) bool { t.Log(k); return true })
		t.Errorf("%d of %d requests failed", failed.Load(), sent.Load())
	}
	if !strings.Contains(sc.logs(), restlink.Fingerprint(keys[len(keys)-1])) {
		t.Error("the last key was never loaded")
	}
}

// TestInvalidReloadKeepsServing: a broken config file is rejected, logged
// once (not at every periodic check) and counted; the last good config
// keeps serving; a fixed file is loaded.
func TestInvalidReloadKeepsServing(t *testing.T) {
	sc := startSidecar(t, setup{})
	for _, bad := range []string{
		"workspaces: [\n",
		sc.expand(standardYAML) + "unknown_setting: 1\n",
		strings.Replace(sc.expand(standardYAML), "id: 18", "id: 16", 1),
	} {
		sc.write("config.yaml", bad)
		eventually(t, 3*time.Second, "the reload to be rejected", func() bool {
			return strings.Count(sc.logs(), "config reload rejected") > 0
		})
		if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 || sc.lastKey() != keyTestA {
			t.Fatalf("after a bad reload: %d %s", a.status, a.body)
		}
		if bad == "workspaces: [\n" {
			time.Sleep(2500 * time.Millisecond) // the 2 s content check meets the same broken file
			if n := strings.Count(sc.logs(), "config reload rejected"); n != 1 {
				t.Errorf("the same rejection was logged %d times", n)
			}
		}
		os.Truncate(sc.log, 0)
	}
	sc.write("config.yaml", sc.expand(strings.Replace(standardYAML, "  globex: main\n", "  globex: main\n  initech: main\n", 1)))
	eventually(t, 3*time.Second, "the fixed config", func() bool {
		return sc.send("/api/v1/sms/send", "X-Tenant: initech").status == 200
	})
}

// TestDeletedKeyFileKeepsLastGoodKey, and a workspace added without a
// readable key answers NO_USABLE_KEY while the others serve.
func TestDeletedKeyFileKeepsLastGoodKey(t *testing.T) {
	sc := startSidecar(t, setup{})
	os.Remove(filepath.Join(sc.dir, "test-space.key"))
	eventually(t, 3*time.Second, "the warning", func() bool {
		return strings.Contains(sc.logs(), "keeping its last good key "+restlink.Fingerprint(keyTestA))
	})
	if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 || sc.lastKey() != keyTestA {
		t.Errorf("with the key file gone: %d, key %q", a.status, sc.lastKey())
	}

	added := strings.Replace(sc.expand(standardYAML), "  globex: main\n", "  globex: main\n  initech: extra\n", 1)
	added = strings.Replace(added, "tenants:\n", "  extra:\n    id: 30\n    keys:\n      - file: "+sc.dir+"/missing.key\ntenants:\n", 1)
	sc.write("config.yaml", added)
	eventually(t, 3*time.Second, "the new workspace", func() bool {
		return strings.Contains(sc.logs(), `"msg":"workspace added","workspace":"extra"`)
	})
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: initech"), 503, "NO_USABLE_KEY")
	if a := sc.send("/api/v1/sms/send", "X-Tenant: globex"); a.status != 200 {
		t.Errorf("another workspace: %d", a.status)
	}
}

// TestKeyFailover: a 401 moves the request to the next key; the refused key
// is demoted until its material changes.
func TestKeyFailover(t *testing.T) {
	sc := startSidecar(t, setup{})
	sc.fake.RevokeKey(keyTestA)

	a := sc.send("/api/v1/sms/send", "X-Tenant: acme")
	reqs := sc.fake.Requests()
	if a.status != 200 || len(reqs) != 2 || reqs[0].Key != keyTestA || reqs[1].Key != keyTestB {
		t.Fatalf("failover: %d, upstream got %d requests", a.status, len(reqs))
	}
	if string(reqs[0].Body) != smsBody || string(reqs[1].Body) != smsBody {
		t.Error("the body was not sent whole with each key")
	}
	for range 3 {
		sc.fake.Reset()
		if a := sc.send("/api/v1/sms/send", "X-Tenant: acme"); a.status != 200 || sc.fake.Count() != 1 || sc.lastKey() != keyTestB {
			t.Fatalf("demoted key tried again: %d, %d requests, last key %s", a.status, sc.fake.Count(), sc.lastKey())
		}
	}

	// The demoted key's file gets new material: tried first again.
	const keyTestC = "rl_live_TESTtestTESTtestC004"
	sc.fake.AddKey(keyTestC, 18)
	sc.write("test-space.key", keyTestC)
	sc.waitForKey(t, keyTestC, "rotating the demoted key")

	// Every key refused: 503 NO_USABLE_KEY after one try each.
	sc.fake.RevokeKey(keyTestB)
	sc.fake.RevokeKey(keyTestC)
	sc.fake.Reset()
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: acme"), 503, "NO_USABLE_KEY")
	if n := sc.fake.Count(); n != 2 {
		t.Errorf("upstream received %d requests, want one per key", n)
	}
}

// TestStartupWithUnreadableKey: at start-up a missing key is its
// workspace's problem, not the sidecar's: the sidecar starts, serves the
// workspace whose key it read, and answers 503 NO_USABLE_KEY for the
// other, with the reason in the status.
func TestStartupWithUnreadableKey(t *testing.T) {
	sc := startSidecar(t, setup{yaml: strings.Replace(standardYAML, "{{dir}}/test-space.previous.key", "{{dir}}/absent.key", 1),
		keys: map[string]string{"main.key": keyMain}, extraSites: opsSite})
	if a := sc.send("/api/v1/sms/send", "X-Tenant: globex"); a.status != http.StatusOK {
		t.Errorf("the workspace with a key: %d %s", a.status, a.body)
	}
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: acme"), 503, "NO_USABLE_KEY")
	status := sc.doAt(opsURL, http.MethodGet, "/status", "").body
	if !strings.Contains(status, "absent.key: no such file or directory") {
		t.Errorf("the status does not say why test-space has no key: %s", status)
	}
}

// TestSignedProbeWithQuery: a signed key whose rotation probe has a query
// string is found valid: the query goes upstream, and the signature covers
// the path without it, as restlink checks it.
func TestSignedProbeWithQuery(t *testing.T) {
	const key, secret = "sk_prod_SIGNEDprobeSIGNEDp01", "whsec_PROBEsecretPROBEsecret01"
	sc := startSidecar(t, setup{
		yaml: `
upstream:
  url: {{upstream}}
  timeout: 2s
workspaces:
  main:
    id: 16
    main: true
    keys:
      - file: {{dir}}/main.key
        secret: {file: {{dir}}/main.secret}
rotation:
  probe: GET /api/v1/sms/stats?period=today
`,
		keys:       map[string]string{"main.key": key, "main.secret": secret},
		workspaces: []restlinktest.Workspace{{ID: 16, Name: "Main", Main: true, APIKeys: []restlinktest.Key{{Value: key, Secret: secret}}}},
	})
	var logs string
	eventually(t, 5*time.Second, "the probe's verdict", func() bool {
		logs = sc.logs()
		return strings.Contains(logs, `"msg":"key verified"`) || strings.Contains(logs, `"msg":"key is invalid`)
	})
	if !strings.Contains(logs, `"msg":"key verified","workspace":"main"`) {
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, `"msg":"key `) {
				t.Errorf("the signed key was not found valid: %s", line)
			}
		}
	}
	var received []string
	for _, r := range sc.fake.Requests() {
		received = append(received, fmt.Sprintf("%s %s?%s: %d %s", r.Method, r.Path, r.RawQuery, r.Status, r.ErrorCode))
	}
	if !slices.Contains(received, "GET /api/v1/sms/stats?period=today: 200 ") {
		t.Errorf("restlink did not answer the probe GET /api/v1/sms/stats?period=today with 200; it received %q", received)
	}
}
