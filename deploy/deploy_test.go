// Package deploy holds the deployment examples (Kubernetes, systemd), the
// alert rules and the dashboard, and tests that check them against the
// sidecar: the configs they carry load, the key files they name are the
// ones mounted, the shipped defaults (admin API off, loopback, non-root)
// hold, and the rules pass promtool and their unit tests.
package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	restlink "github.com/23telecom/restlink-sidecar/module"
)

// loadConfig loads a config.yaml held in memory, as the sidecar would.
func loadConfig(t *testing.T, content string) *restlink.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := restlink.LoadConfig(path, func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// keyFiles lists the key files a config names.
func keyFiles(t *testing.T, cfg *restlink.Config) []string {
	t.Helper()
	var files []string
	for name, ws := range cfg.Workspaces {
		for _, k := range ws.Keys {
			if k.File == "" {
				t.Errorf("workspace %s: a deployment example must read keys from files", name)
			}
			files = append(files, k.File)
		}
	}
	slices.Sort(files)
	return files
}

// k8sObject is the part of a Kubernetes manifest the test reads.
type k8sObject struct {
	Kind       string                `yaml:"kind"`
	Metadata   struct{ Name string } `yaml:"metadata"`
	Data       map[string]string     `yaml:"data"`
	StringData map[string]string     `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot bool  `yaml:"runAsNonRoot"`
		FSGroup      int64 `yaml:"fsGroup"`
		RunAsGroup   int64 `yaml:"runAsGroup"`
	} `yaml:"securityContext"`
	InitContainers []container `yaml:"initContainers"`
	Containers     []container `yaml:"containers"`
	Volumes        []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName  string `yaml:"secretName"`
			DefaultMode int    `yaml:"defaultMode"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type container struct {
	Name          string   `yaml:"name"`
	RestartPolicy string   `yaml:"restartPolicy"`
	Args          []string `yaml:"args"`
	StartupProbe  *struct {
		Exec struct{ Command []string } `yaml:"exec"`
	} `yaml:"startupProbe"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
	Env []struct{ Name, Value string } `yaml:"env"`
}

func TestKubernetesExample(t *testing.T) {
	f, err := os.Open("kubernetes/restlink-sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objects := map[string]k8sObject{}
	dec := yaml.NewDecoder(f)
	for {
		var o k8sObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		objects[o.Kind] = o
	}
	cm, secret, deploy := objects["ConfigMap"], objects["Secret"], objects["Deployment"]
	pod := deploy.Spec.Template.Spec
	if len(pod.InitContainers) != 1 || len(pod.Containers) != 1 {
		t.Fatalf("want one sidecar init container and one app container: %+v", pod)
	}
	sidecar, app := pod.InitContainers[0], pod.Containers[0]

	if sidecar.RestartPolicy != "Always" {
		t.Error("the sidecar must be a native sidecar (init container with restartPolicy: Always)")
	}
	if !pod.SecurityContext.RunAsNonRoot || !sidecar.SecurityContext.ReadOnlyRootFilesystem || sidecar.SecurityContext.AllowPrivilegeEscalation {
		t.Error("the sidecar must run as non-root, read-only, without privilege escalation")
	}
	if pod.SecurityContext.FSGroup == 0 || pod.SecurityContext.FSGroup != pod.SecurityContext.RunAsGroup {
		t.Error("fsGroup must be the sidecar's own group, so that key files are readable by it only")
	}
	if sidecar.StartupProbe == nil || !slices.Contains(sidecar.StartupProbe.Exec.Command, "ready") {
		t.Error("the sidecar needs a startup probe running `restlink-sidecar ready` (loopback is out of httpGet's reach)")
	}
	if !slices.Equal(sidecar.Args, []string{"run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"}) {
		t.Errorf("the sidecar should run the image's Caddyfile: %v", sidecar.Args)
	}

	mounts := map[string]string{} // mount path -> volume name
	for _, m := range sidecar.VolumeMounts {
		if m.SubPath != "" {
			t.Errorf("mount %s uses subPath: its files would never update", m.MountPath)
		}
		mounts[m.MountPath] = m.Name
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		switch {
		case v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name && mounts["/etc/restlink"] == v.Name:
			volumes["config"] = true
		case v.Secret != nil && v.Secret.SecretName == secret.Metadata.Name && mounts["/run/secrets/restlink"] == v.Name:
			volumes["keys"] = true
			if v.Secret.DefaultMode != 0o400 {
				t.Errorf("secret defaultMode %#o, want 0400", v.Secret.DefaultMode)
			}
		}
	}
	if !volumes["config"] || !volumes["keys"] {
		t.Errorf("the ConfigMap must be mounted at /etc/restlink and the Secret at /run/secrets/restlink: %v", mounts)
	}

	// The image's Caddyfile reads RESTLINK_CONFIG, /etc/restlink/config.yaml.
	cfg := loadConfig(t, cm.Data["config.yaml"])
	for _, file := range keyFiles(t, cfg) {
		dir, name := filepath.Split(file)
		if dir != "/run/secrets/restlink/" {
			t.Errorf("key file %s is not in the Secret's mount", file)
		}
		if _, ok := secret.StringData[name]; !ok {
			t.Errorf("key file %s has no entry in the Secret", file)
		}
	}
	appURL := ""
	for _, e := range app.Env {
		if strings.HasPrefix(e.Value, "http://") {
			appURL = e.Value
		}
	}
	if !strings.HasPrefix(appURL, "http://127.0.0.1:8080/") {
		t.Errorf("the app must be pointed at the sidecar on 127.0.0.1:8080, got %q", appURL)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	for _, want := range []string{
		"RUN make build VERSION=${VERSION}",              // the CI-checked build, same flags
		"FROM gcr.io/distroless/static-debian12:nonroot", // no shell
		"USER nonroot:nonroot",
		"COPY caddyfile/Caddyfile /etc/caddy/Caddyfile",
		"RESTLINK_CONFIG=/etc/restlink/config.yaml",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	var runs []string
	for _, line := range strings.Split(d, "\n") {
		if strings.HasPrefix(line, "RUN ") {
			runs = append(runs, line)
		}
	}
	if !slices.Equal(runs, []string{"RUN go mod download", "RUN make build VERSION=${VERSION}"}) {
		t.Errorf("every RUN step must be one that make also runs: %q", runs)
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\t(?:  env )?CGO_ENABLED=0 go build \$\(BUILD_FLAGS\) -o bin/restlink-sidecar`).Match(mk) ||
		!strings.Contains(string(mk), "BUILD_FLAGS := -trimpath -ldflags") {
		t.Error("make build must build statically with -trimpath and the version stamp")
	}
}

// unit reads a systemd unit: key -> values, in order.
func unit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		out[k] = append(out[k], v)
	}
	return out
}

func TestSystemdExample(t *testing.T) {
	u := unit(t, "systemd/restlink-sidecar.service")
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet": "", "Type": "notify",
		"User": "restlink-sidecar", "Group": "restlink", "RuntimeDirectory": "restlink-sidecar",
	} {
		if got := u[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}

	// Every key file of the config is a credential the unit loads.
	b, err := os.ReadFile("systemd/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var credentials []string
	for _, lc := range u["LoadCredential"] {
		name, _, _ := strings.Cut(lc, ":")
		credentials = append(credentials, "/run/credentials/restlink-sidecar.service/"+name)
	}
	slices.Sort(credentials)
	if files := keyFiles(t, loadConfig(t, string(b))); !slices.Equal(files, credentials) {
		t.Errorf("config key files %v, unit credentials %v", files, credentials)
	}

	caddyfile, err := os.ReadFile("systemd/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"admin off", "bind unix//run/restlink-sidecar/sidecar.sock|0660 127.0.0.1"} {
		if !strings.Contains(string(caddyfile), want) {
			t.Errorf("systemd Caddyfile lacks %q", want)
		}
	}
}

// TestCleartextSitesSpeakH1: every plain-HTTP site in the shipped and
// example Caddyfiles and in the docs' Caddyfile snippets has a server that
// speaks HTTP/1.x only: Caddy would otherwise take cleartext HTTP/2 with
// prior knowledge (h2c), which neither an app nor restlink's webhooks need.
func TestCleartextSitesSpeakH1(t *testing.T) {
	files := map[string]string{}
	for _, path := range []string{"../caddyfile/Caddyfile", "systemd/Caddyfile", "../examples/try/Caddyfile"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[path] = string(b)
	}
	docs, _ := filepath.Glob("../docs/*.md")
	for _, path := range append(docs, "../README.md") {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
			files[fmt.Sprintf("%s, snippet %d", path, i+1)] = m[1]
		}
	}
	site := regexp.MustCompile(`(?m)^http://[^\s:]*:(\d+) \{`)
	server := regexp.MustCompile(`(?m)^\tservers(?: [^\s]*?:(\d+))? \{\n((?:\t\t.*\n)*)\t\}`)
	checked := 0
	for name, text := range files {
		h1 := map[string]bool{} // port ("" for every server) -> protocols h1
		for _, m := range server.FindAllStringSubmatch(text, -1) {
			if strings.Contains(m[2], "\t\tprotocols h1\n") {
				h1[m[1]] = true
			}
		}
		for _, m := range site.FindAllStringSubmatch(text, -1) {
			checked++
			if !h1[m[1]] && !h1[""] {
				t.Errorf("%s: the cleartext site on port %s has no server with protocols h1", name, m[1])
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d cleartext sites found", checked)
	}
}
