# restlink-sidecar. Needs only Go; every target installs what else it needs.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The same flags as the Dockerfile's build step.
BUILD_FLAGS := -trimpath -ldflags "-s -w -X github.com/caddyserver/caddy/v2.CustomVersion=restlink-sidecar-$(VERSION)"
FUZZTIME ?= 10s
FUZZ_TARGETS := module:FuzzCanonicalPath module:FuzzRoute module:FuzzParseConfig module/policy:FuzzParseSend module/policy:FuzzFindLinks \
  module/webhook:FuzzVerify module/webhook:FuzzDedupKey module/sms:FuzzSegmentsAgree \
  module/money:FuzzParse module/money:FuzzSplit \
  module/pricing:FuzzParseTable module/pricing:FuzzParseBalance \
  module/ledger:FuzzParseLine module/alerts:FuzzDecode module/restlinktest:FuzzMicros \
  internal/jsontext:FuzzAppendString module/store:FuzzRecordJSON module/store:FuzzRecordTable
BENCH_ROUNDS ?= 5
BENCH_DURATION ?= 5s
PROFILE_TENANTS ?= 10

.PHONY: build test test-deps fuzz demo try run bench profile compat check-deploy clean

## build: bin/restlink-sidecar, static, version-stamped
build:
	@scripts/progress "building bin/restlink-sidecar (a first build compiles Caddy: about 6 minutes on 2 cores)" -- \
	  env CGO_ENABLED=0 go build $(BUILD_FLAGS) -o bin/restlink-sidecar ./cmd/restlink-sidecar

## test-deps: what the tests drive besides Go: real clients (curl, Node's
## fetch, Python's standard library), a real redis-server, and promtool (from
## the prometheus package: it checks and unit-tests the alert rules), from Debian
TEST_TOOLS := curl node python3 redis-server promtool
test-deps:
	@missing=""; for tool in $(TEST_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing from Debian"; \
	    sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends curl nodejs python3 redis-server prometheus >/dev/null; \
	    case "$$missing" in *promtool*) \
	      if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then \
	        echo "stopping the prometheus service the package started: only promtool is needed, and it would hold port 9090, the sidecar's operators' port"; \
	        $$sudo systemctl disable --now prometheus >/dev/null 2>&1 || true; \
	      fi;; \
	    esac; \
	  fi

## test: vet, format check, all tests with the race detector, a bounded
## fuzz run of each target; fails on a skipped test
test: test-deps
	@scripts/progress "[1/6] go vet ./... (a first run compiles everything: about 3 minutes on 2 cores)" -- go vet ./...
	@echo "[2/6] gofmt"
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@scripts/progress "[3/6] go test -race ./... (about 12 minutes on 2 cores from a cold cache; log: .test.log)" -- \
	  bash -c 'go test -race -count=1 -v ./... > .test.log 2>&1' \
	  || { grep -E -B2 -A25 -- '--- FAIL|^panic:|^FAIL|build failed' .test.log | head -300; exit 1; }
	@grep -E '^(ok|FAIL|---)' .test.log | grep -v -- '--- PASS' || true
	@if grep -E -- '--- SKIP' .test.log; then echo "tests were skipped: every test must run"; exit 1; fi
	@scripts/progress "[4/6] go test ./module/store without the race detector: its idempotency records in memory mapped from the OS" -- \
	  go test -count=1 ./module/store
	@scripts/progress "[5/6] benchmarks, once each" -- bash -c 'go test -race -run=NONE -bench=. -benchtime=1x ./... > /dev/null'  # reuses the race build above
	@echo "[6/6] fuzz targets, $(FUZZTIME) each"
	@$(MAKE) --no-print-directory fuzz

## fuzz: run each fuzz target for FUZZTIME. A run fails on a crasher, which
## Go writes under the package's testdata/fuzz/; a failure that wrote none is
## Go 1.26's fuzz-coordinator race at the end of -fuzztime (go.dev/issue/75804,
## fixed in Go 1.27), reported and not failed
fuzz:
	@for pair in $(FUZZ_TARGETS); do \
	  pkg=$${pair%%:*}; target=$${pair#*:}; corpus=$$pkg/testdata/fuzz/$$target; \
	  echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	  count() { if [ -d "$$1" ]; then ls "$$1" | wc -l; else echo 0; fi; }; before=$$(count $$corpus); \
	  if ! go test -run=NONE -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) ./$$pkg > .fuzz.log 2>&1; then \
	    if [ "$$(count $$corpus)" != "$$before" ]; then cat .fuzz.log; echo "crasher written to $$corpus"; exit 1; fi; \
	    echo "  $$target failed without writing a crasher: Go's fuzz-coordinator race (go.dev/issue/75804), not a finding:"; \
	    grep -E -- '--- FAIL|execs|deadline' .fuzz.log | tail -3 | sed 's/^/    /'; \
	  fi; \
	done

## demo: the simulator and the sidecar on loopback: requests for two tenants, then their delivery reports back to the app
demo: build
	@scripts/progress "building and running the demo (it drives the binary; its own first build takes under a minute)" -- \
	  go run ./cmd/restlink-demo -sidecar bin/restlink-sidecar

## try: a local restlink simulator and the sidecar (examples/try) until Ctrl-C: point an app at http://127.0.0.1:8080/api/v1
try: build
	@scripts/progress "building the simulator (under a minute the first time)" -- go build -o bin/restlink-demo ./cmd/restlink-demo
	@bin/restlink-demo -sidecar bin/restlink-sidecar -try examples/try

## run: the sidecar with the shipped Caddyfile and config.example.yaml
run: build
	RESTLINK_CONFIG=$(CURDIR)/config.example.yaml bin/restlink-sidecar run --config caddyfile/Caddyfile --adapter caddyfile

clean:
	rm -rf bin .bench .test.log .fuzz.log

## bench: side-by-side load benchmark (sidecar, stock Caddy, nginx) on loopback,
## plus capabilities, send policy (memory and Redis store), refusals, start-up, reload and fixed-rate rows (about 20 minutes)
bench: build
	@command -v wrk >/dev/null && command -v nginx >/dev/null && command -v redis-server >/dev/null || { \
	  echo "installing wrk, nginx and redis-server from Debian"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq wrk nginx redis-server; }
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/caddy github.com/caddyserver/caddy/v2/cmd/caddy
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/fastupstream ./bench/fastupstream
	go run ./bench -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION)

## compat: client and protocol compatibility matrix (sidecar, stock Caddy, nginx) on loopback
compat: build
	@command -v nginx >/dev/null && command -v node >/dev/null && command -v python3 >/dev/null && command -v curl >/dev/null || { \
	  echo "installing nginx, nodejs, python3 and curl from Debian"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq nginx nodejs python3 curl; }
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/caddy github.com/caddyserver/caddy/v2/cmd/caddy
	go run ./bench/compat

## profile: a CPU profile of the sidecar (one workspace per tenant, PROFILE_TENANTS
## of them) under the bench load (.bench/cpu.prof)
profile: build
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/caddy github.com/caddyserver/caddy/v2/cmd/caddy
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/fastupstream ./bench/fastupstream
	go run ./bench -rounds 1 -duration 10s -tenants $(PROFILE_TENANTS) -extras=false -profile .bench/cpu.prof -profile-row "sidecar, $(PROFILE_TENANTS) ws (1/tenant)"
	go tool pprof -top -cum .bench/cpu.prof | head -40

## check-deploy: the deployment examples, alert rules and dashboard, and the binary's packaging
check-deploy: build test-deps
	go test -count=1 ./deploy
	bin/restlink-sidecar version | grep -q '^restlink-sidecar-$(VERSION) '
	bin/restlink-sidecar list-modules | grep -qx 'http.handlers.restlink'
	@if command -v systemd-analyze >/dev/null; then \
	  unit=$$(mktemp -d)/restlink-sidecar.service; \
	  sed "s|/usr/local/bin/restlink-sidecar|$(CURDIR)/bin/restlink-sidecar|" deploy/systemd/restlink-sidecar.service > $$unit; \
	  echo "systemd-analyze verify deploy/systemd/restlink-sidecar.service"; \
	  systemd-analyze verify $$unit; \
	else echo "systemd-analyze not installed: skipping the systemd unit check"; fi
