package restlink_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// dialEnv makes the test binary a unix-socket client (see TestMain): it
// dials the socket named by the variable and exits 0 if it connected, 3 if
// permission was denied.
const dialEnv = "RESTLINK_TEST_DIAL_UNIX"

func TestMain(m *testing.M) {
	if sock := os.Getenv(dialEnv); sock != "" {
		conn, err := net.Dial("unix", sock)
		switch {
		case err == nil:
			conn.Close()
			os.Exit(0)
		case errors.Is(err, syscall.EACCES):
			os.Exit(3)
		default:
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
	}
	os.Exit(m.Run())
}

// TestUnixSocket: apps can reach the sidecar over a unix socket, which is
// always trusted (file permissions are its access control), and the
// socket's mode lets its group in and nobody else.
func TestUnixSocket(t *testing.T) {
	sockDir := t.TempDir()
	os.Chmod(sockDir, 0o755)
	os.Chmod(filepath.Dir(sockDir), 0o755) // the test's temp root, for the other users below
	sock := filepath.Join(sockDir, "sidecar.sock")
	// trusted_clients excludes loopback: only the socket may be used.
	sc := startSidecar(t, setup{
		yaml: standardYAML + "security:\n  trusted_clients: [10.0.0.0/8]\n",
		extraSites: `
http://:9084 {
	bind unix/` + sock + `|0660
	restlink {{dir}}/config.yaml
}
`})

	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /t/acme/api/v1/sms/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(smsBody), smsBody)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || sc.lastKey() != keyTestA {
		t.Errorf("over the socket: %d %s, upstream key %q", resp.StatusCode, body, sc.lastKey())
	}
	wantSidecarError(t, sc.send("/api/v1/sms/send", "X-Tenant: acme"), 403, "CLIENT_NOT_TRUSTED") // loopback TCP

	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want 0660", fi.Mode())
	}

	// Who may connect: a member of the socket's group, not another user.
	if os.Getuid() != 0 {
		t.Log("not root: cannot act as other users; the socket's mode was checked above")
		return
	}
	const appGroup, appUser, stranger = 65534, 65533, 65532
	if err := os.Chown(sock, 0, appGroup); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	os.Chmod(binDir, 0o755)
	client := filepath.Join(binDir, "dial")
	if b, err := os.ReadFile(self); err != nil || os.WriteFile(client, b, 0o755) != nil {
		t.Fatalf("copying the test binary: %v", err)
	}
	dialAs := func(uid, gid uint32) int {
		cmd := exec.Command(client)
		cmd.Env = []string{dialEnv + "=" + sock}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == 4 {
				t.Errorf("dialing as %d:%d: %s", uid, gid, strings.TrimSpace(string(out)))
			}
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("dialing as %d:%d: %v", uid, gid, err)
		}
		return 0
	}
	if code := dialAs(appUser, appGroup); code != 0 {
		t.Errorf("a member of the socket's group could not connect (exit %d)", code)
	}
	if code := dialAs(stranger, stranger); code != 3 {
		t.Errorf("another user connected, or failed otherwise (exit %d)", code)
	}
}
