package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/loopback"
)

// Target kinds: the upstream itself (the baseline) and the three proxies.
const (
	kindDirect  = "direct"
	kindSidecar = "sidecar"
	kindCaddy   = "caddy"
	kindNginx   = "nginx"
)

// The tenant every proxy knows, the one no proxy knows, and the app's own
// leftover credentials, which every proxy must drop.
const (
	tenant        = "acme"
	unknownTenant = "initech"
	appOldKey     = "rl_app_old_key_0000"
	appAuth       = "Bearer app-session-token"
)

// maxBody is the request body limit given to the sidecar and nginx (both
// default to 1 MiB): curl sends Expect: 100-continue only above 1 MiB.
const maxBody = 4 << 20

// target is one column of the matrix: where its requests go.
type target struct {
	kind string
	port int
}

// addr is the target's host:port.
func (t *target) addr() string { return fmt.Sprintf("127.0.0.1:%d", t.port) }

// baseURL is the target's http:// origin.
func (t *target) baseURL() string { return "http://" + t.addr() }

// identity is what the app sends to say who it is: its key when it talks
// to the upstream directly; through a proxy, the tenant header plus the
// credentials it still carries from before the migration.
func (t *target) identity(key, tenantName string) []field {
	if t.kind == kindDirect {
		return []field{{"X-API-Key", key}}
	}
	return []field{{"X-Tenant", tenantName}, {"X-API-Key", appOldKey}, {"Authorization", appAuth}}
}

// processes are the child processes the harness started; each is stopped
// by its PID.
type processes struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

// start runs a command with its output in logPath.
func (p *processes) start(logPath string, env []string, name string, args ...string) error {
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should the harness die without stopping it, the process gets SIGTERM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	p.mu.Lock()
	p.cmds = append(p.cmds, cmd)
	p.mu.Unlock()
	return nil
}

// stopAll sends SIGTERM to every process by PID, waits up to 5 s for each,
// and kills those still running. It may be called more than once.
func (p *processes) stopAll() {
	p.mu.Lock()
	cmds := p.cmds
	p.cmds = nil
	p.mu.Unlock()
	for _, c := range cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range cmds {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
	}
}

// startProxy writes one proxy's configuration, starts it on a free port in
// front of the upstream and waits until it listens.
func (h *harness) startProxy(kind string) (*target, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(h.dir, kind)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	var name string
	var args []string
	switch kind {
	case kindSidecar:
		name, args, err = h.sidecarConfig(dir, port)
	case kindCaddy:
		name, args, err = h.caddyConfig(dir, port)
	case kindNginx:
		name, args, err = h.nginxConfig(dir, port)
	}
	if err != nil {
		return nil, err
	}
	// Caddy keeps its autosave and data in XDG directories: keep them here.
	env := []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, "xdg"), "XDG_DATA_HOME=" + filepath.Join(dir, "xdg")}
	logPath := filepath.Join(dir, kind+".log")
	if err := h.procs.start(logPath, env, name, args...); err != nil {
		return nil, err
	}
	if err := loopback.WaitForPort(port, 20*time.Second); err != nil {
		return nil, fmt.Errorf("%s did not start: %w (see %s)", kind, err, logPath)
	}
	return &target{kind: kind, port: port}, nil
}

// sidecarConfig writes the sidecar's config.yaml (one workspace with a key
// file, tenant acme) and Caddyfile.
func (h *harness) sidecarConfig(dir string, port int) (string, []string, error) {
	keyFile := filepath.Join(dir, "test-space.key")
	if err := os.WriteFile(keyFile, []byte(h.key+"\n"), 0o600); err != nil {
		return "", nil, err
	}
	cfg := fmt.Sprintf(`upstream:
  url: http://127.0.0.1:%d
workspaces:
  test-space:
    id: 18
    keys: [{file: %s}]
tenants:
  %s: test-space
security:
  max_body_bytes: %d
`, h.up.port(), keyFile, tenant, maxBody)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return "", nil, err
	}
	// The sidecar runs with the shipped Caddyfile, as operators run it: only
	// its ports and config path are changed.
	shipped, err := os.ReadFile("caddyfile/Caddyfile")
	if err != nil {
		return "", nil, err
	}
	opsPort, err := loopback.FreePort()
	if err != nil {
		return "", nil, err
	}
	caddyfile := strings.NewReplacer(":8080", fmt.Sprintf(":%d", port), ":9090", fmt.Sprintf(":%d", opsPort),
		"{$RESTLINK_CONFIG:/etc/restlink/config.yaml}", cfgPath).Replace(string(shipped))
	return h.writeCaddyfile(dir, caddyfile, filepath.Join(h.bin, "restlink-sidecar"))
}

// caddyConfig writes stock Caddy's Caddyfile: map + reverse_proxy +
// header_up, as bench/main.go does.
func (h *harness) caddyConfig(dir string, port int) (string, []string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin off\n}\nhttp://:%d {\n\tbind 127.0.0.1\n", port)
	fmt.Fprintf(&b, "\tmap {header.X-Tenant} {api_key} {\n\t\t%s %s\n\t}\n", tenant, h.key)
	fmt.Fprintf(&b, "\treverse_proxy 127.0.0.1:%d {\n\t\theader_up X-API-Key {api_key}\n", h.up.port())
	for _, name := range strippedByProxies {
		fmt.Fprintf(&b, "\t\theader_up -%s\n", name)
	}
	b.WriteString("\t}\n}\n")
	return h.writeCaddyfile(dir, b.String(), filepath.Join(h.bin, "caddy"))
}

// strippedByProxies are the request headers the stock proxies are told to
// drop, as in bench/main.go.
var strippedByProxies = []string{"X-Tenant", "X-Workspace-ID", "Authorization", "Proxy-Authorization", "Cookie"}

// writeCaddyfile writes a Caddyfile and returns the command that runs it.
func (h *harness) writeCaddyfile(dir, content, binary string) (string, []string, error) {
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return "", nil, err
	}
	return binary, []string{"run", "--config", path, "--adapter", "caddyfile"}, nil
}

// nginxConfig writes nginx's config: map + proxy_pass + proxy_set_header
// with upstream keep-alive, as bench/main.go does, and nginx's defaults
// otherwise (proxy_buffering and proxy_request_buffering stay on). Only the
// body limit is raised, to the sidecar's.
func (h *harness) nginxConfig(dir string, port int) (string, []string, error) {
	var sets strings.Builder
	for _, name := range strippedByProxies {
		fmt.Fprintf(&sets, "\t\t\tproxy_set_header %s \"\";\n", name)
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	client_max_body_size %[2]d;
	map $http_x_tenant $api_key {
		default "";
		%[3]s %[4]s;
	}
	upstream restlink { server 127.0.0.1:%[5]d; keepalive 16; }
	server {
		listen 127.0.0.1:%[6]d;
		location / {
			proxy_pass http://restlink;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-API-Key $api_key;
%[7]s		}
	}
}
`, dir, maxBody, tenant, h.key, h.up.port(), port, sets.String())
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return "", nil, err
	}
	return "nginx", []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path}, nil
}
