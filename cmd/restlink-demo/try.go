package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/loopback"
	"github.com/23telecom/restlink-sidecar/module/restlinktest"
)

// The fixed loopback addresses of make try, as examples/try names them.
const (
	tryAppsPort  = 8080
	tryApps      = "127.0.0.1:8080" // the apps' site
	tryOps       = "127.0.0.1:9090" // status and metrics
	tryHooks     = "127.0.0.1:8081" // the webhook site
	trySimulator = "127.0.0.1:8091" // the restlink simulator
	tryEvents    = "127.0.0.1:8092" // the events printer: the app's receiver
)

// tryKeys are the simulator's keys and secrets, which the sidecar reads
// from its environment (examples/try/config.yaml): random for each run,
// valid nowhere else.
var tryKeys = map[string]string{
	"RESTLINK_TRY_KEY_MAIN":           newKey(),
	"RESTLINK_TRY_SECRET_MAIN":        newKey(),
	"RESTLINK_TRY_KEY_TEST_SPACE":     newKey(),
	"RESTLINK_TRY_WEBHOOK_MAIN":       newKey(),
	"RESTLINK_TRY_WEBHOOK_TEST_SPACE": newKey(),
}

// try runs the restlink simulator and the sidecar with the config in dir
// until interrupted, printing every request that reaches the simulator and
// every event the sidecar delivers, so that a person can point an app at
// the sidecar and watch.
func try(sidecarBin, dir string) error {
	fake := restlinktest.New(
		restlinktest.Workspace{ID: 16, Name: "main", Main: true, APIKeys: []restlinktest.Key{{Value: tryKeys["RESTLINK_TRY_KEY_MAIN"], Secret: tryKeys["RESTLINK_TRY_SECRET_MAIN"]}}},
		restlinktest.Workspace{ID: 18, Name: "test-space", Keys: []string{tryKeys["RESTLINK_TRY_KEY_TEST_SPACE"]}},
	)
	defer fake.Close()
	fake.SetOptions(restlinktest.Options{SimulateDelivery: true, DeliveryDelay: time.Second})
	setPrices(fake)
	fake.SetWebhooks(16, restlinktest.WebhookSettings{DeliveryURL: "http://" + tryHooks + "/hooks/main/delivery", SigningSecret: tryKeys["RESTLINK_TRY_WEBHOOK_MAIN"]})
	fake.SetWebhooks(18, restlinktest.WebhookSettings{DeliveryURL: "http://" + tryHooks + "/hooks/test-space/delivery", SigningSecret: tryKeys["RESTLINK_TRY_WEBHOOK_TEST_SPACE"]})
	stopSimulator, err := serveOn(trySimulator, fake)
	if err != nil {
		return err
	}
	defer stopSimulator()
	stopEvents, err := serveOn(tryEvents, http.HandlerFunc(printEvent))
	if err != nil {
		return err
	}
	defer stopEvents()

	spool, err := os.MkdirTemp("", "restlink-try-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(spool)
	config, err := filepath.Abs(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return err
	}
	cmd := exec.Command(sidecarBin, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "RESTLINK_CONFIG="+config, "RESTLINK__WEBHOOKS__SPOOL_DIR="+spool,
		"RESTLINK__LEDGER__DIR="+filepath.Join(spool, "ledger"))
	for name, value := range tryKeys {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	logPath := filepath.Join(spool, "sidecar.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	ready := make(chan error, 1)
	go func() { ready <- loopback.WaitForPort(tryAppsPort, 30*time.Second) }()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("the sidecar did not start (its log: %s): %w", logPath, err)
		}
	case err := <-exited:
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("the sidecar exited: %v\n%s", err, log)
	}

	fmt.Printf(`restlink simulator on http://%s: workspaces 16 main (its key signs), 18 test-space
sidecar on http://%s/api/v1: tenants acme -> test-space, globex -> main; no tenant -> main
  status: restlink-sidecar status --url http://%s/status   metrics: http://%s/metrics
  the simulator posts delivery reports to the sidecar's webhook site (%s), which delivers them to http://%s/events (printed below)

Point your app at http://%s/api/v1 without a key, or try:
  curl -s http://%s/api/v1/sms/send -H 'X-Tenant: acme' -H 'Content-Type: application/json' \
    -d '{"to":["+447700900123"],"message":"Hello from make try","sender_id":"MyApp"}'

Ctrl-C stops. What reaches restlink:
`, trySimulator, tryApps, tryOps, tryOps, tryHooks, tryEvents, tryApps, tryApps)

	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupt)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	shown := 0
	for {
		select {
		case <-interrupt:
			fmt.Println("\nstopping")
			return nil
		case err := <-exited:
			exited <- err // for the deferred stop
			return fmt.Errorf("the sidecar exited: %v (its log: %s)", err, logPath)
		case <-tick.C:
		}
		reqs := fake.Requests()
		for ; shown < len(reqs); shown++ {
			if r := reqs[shown]; r.Status != 0 {
				printRequest(r)
			} else {
				break // not answered yet: shown with its answer next time
			}
		}
	}
}

// printRequest prints one request the simulator answered: what reached
// it, with which workspace's key (as a fingerprint) and how it answered.
func printRequest(r restlinktest.Request) {
	signed := "unsigned"
	if r.Header.Get("X-Signature") != "" {
		signed = "HMAC-signed"
	}
	answer := fmt.Sprint(r.Status)
	if r.ErrorCode != "" {
		answer += " " + r.ErrorCode
	}
	fmt.Printf("  %s  %-4s %-28s workspace %-3d key %s, %s -> %s\n", time.Now().Format("15:04:05"), r.Method, r.Path,
		r.WorkspaceID, fingerprint(r.Key), signed, answer)
}

// printEvent is the app's receiver of make try: it prints each event the
// sidecar delivers (never the recipient's number whole) and takes it.
func printEvent(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var report struct {
		MessageID string `json:"message_id"`
		Status    string `json:"status"`
	}
	_ = json.Unmarshal(body, &report)
	fmt.Printf("  %s  event %s of workspace %s: %s %s (X-Restlink-Event-Id %s)\n", time.Now().Format("15:04:05"),
		r.Header.Get("X-Restlink-Event"), r.Header.Get("X-Restlink-Workspace"), report.MessageID, report.Status,
		r.Header.Get("X-Restlink-Event-Id"))
	w.WriteHeader(http.StatusOK)
}

// serveOn serves h on addr until stop is called.
func serveOn(addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s is taken: %w (stop what uses it, or run make demo instead)", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
