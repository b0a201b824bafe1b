package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCallersByKernelIdentity: on a unix socket, each caller gets only its
// tenants, by the uid and gid the kernel reports, however it names them;
// a caller of one tenant is pinned to it; one of several must name one; a
// caller with no entry is refused; and the loopback TCP listener is
// unchanged. Real processes under other uids (setpriv) send with curl.
func TestCallersByKernelIdentity(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test runs processes under other uids: run it as root (CI does)")
	}
	setpriv := needTool(t, "setpriv")
	curl := needTool(t, "curl")
	sockDir := t.TempDir()
	for _, dir := range []string{sockDir, filepath.Dir(sockDir)} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(sockDir, "apps.sock")
	bb := startBlackBoxWith(t, blackBoxYAML+`
callers:
  - {uid: 1001, tenants: [acme]}
  - {gid: 2000, tenants: [failover, brk]}
`, boxOptions{socket: sock})

	send := `{"to":["+447700900123"],"message":"hi","sender_id":"MyApp"}`
	as := func(uid, gid, tenant string) string {
		t.Helper()
		args := []string{"--reuid=" + uid, "--regid=" + gid, "--clear-groups", curl, "-s", "--max-time", "5",
			"--unix-socket", sock, "-H", "Content-Type: application/json", "-d", send}
		if tenant != "" {
			args = append(args, "-H", "X-Tenant: "+tenant)
		}
		out, err := exec.Command(setpriv, append(args, "-w", " %{http_code}", "http://localhost/api/v1/sms/send")...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl as %s:%s: %v\n%s", uid, gid, err, out)
		}
		return string(out)
	}
	for _, tc := range []struct {
		uid, gid, tenant string
		want             []string // in the answer: status last, then error code or reason
	}{
		{"1001", "1001", "acme", []string{" 200"}},
		{"1001", "1001", "", []string{" 200"}}, // pinned to its one tenant
		{"1001", "1001", "failover", []string{" 403", `"CALLER_NOT_ALLOWED"`, "uid 1001, gid 1001", `tenant \"failover\"`}},
		{"1002", "2000", "failover", []string{" 200"}},
		{"1002", "2000", "brk", []string{" 200"}},
		{"1002", "2000", "", []string{" 400", `"TENANT_REQUIRED"`, "brk, failover"}},
		{"1002", "2000", "acme", []string{" 403", `"CALLER_NOT_ALLOWED"`}},
		{"1003", "1003", "acme", []string{" 403", `"CALLER_NOT_ALLOWED"`, "uid 1003, gid 1003", "no entry"}},
		{"1003", "1003", "", []string{" 403", `"CALLER_NOT_ALLOWED"`}},
	} {
		got := as(tc.uid, tc.gid, tc.tenant)
		for _, want := range tc.want {
			if !strings.Contains(got, want) {
				t.Errorf("uid %s gid %s, tenant %q: %s; want %s", tc.uid, tc.gid, tc.tenant, got, want)
			}
		}
		if !strings.HasSuffix(got, tc.want[0]) {
			t.Errorf("uid %s gid %s, tenant %q: status %s, want %s", tc.uid, tc.gid, tc.tenant, got[max(0, len(got)-4):], tc.want[0])
		}
	}
	// The loopback TCP listener does not apply callers.
	if status, body := bb.do("POST", "/api/v1/sms/send", send, "X-Tenant: failover"); status != 200 {
		t.Errorf("over TCP: %d %s", status, body)
	}
}
