SHELL := /bin/bash
# Ouroboros in Go. `make demo` shows it working; `make test` is what CI runs.

GO          ?= go
BIN         := $(CURDIR)/bin
VERSION     ?= 0.1.0
GITREV      := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w -X main.version=$(VERSION)+$(GITREV)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
NFPM        := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# wireguard-go, what make bench measures ovpn against (never needed by make test).
WIREGUARD   := golang.zx2c4.com/wireguard@v0.0.0-20260522210424-ecfc5a8d5446
WIREGUARD_GO = $(or $(shell $(GO) env GOBIN),$(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin)/wireguard
CMDS        := $(notdir $(wildcard cmd/*))
# An execution count, not a duration: duration-limited runs can fail spuriously
# with "context deadline exceeded" in Go 1.26 (go.dev/issue/75804).
FUZZTIME    ?= 100000x

.PHONY: all build test unit e2e fuzz lint docs bench bench-ovpn bench-tools demo package package-check clean

all: build

## build: every binary into bin/
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## test: lint, unit, end-to-end and short fuzz runs, and a check of the packages
test: lint unit e2e fuzz package-check

## unit: all Go tests, with the race detector; end-to-end ones skip unless root
unit:
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'TestLargeRandomNetwork' ./internal/simnet/

## e2e: the end-to-end tests with real irmd processes, against bin/
e2e: build
	OUROBOROS_BIN=$(BIN) $(GO) test -count=1 -v -run 'E2E' ./internal/e2e/ 2>&1 | tee e2e.out | grep -E '^(=== RUN|--- |PASS|FAIL|ok)' ; test $${PIPESTATUS[0]} -eq 0

## fuzz: a short run of every fuzz target
fuzz:
	@set -e; for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for t in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg >fuzz.out 2>&1 || { cat fuzz.out; exit 1; }; \
		done; done

## lint: gofmt, go vet, staticcheck (pinned)
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## docs: rewrite the option tables in docs/ from stack/schema, and ovpn's
## configuration reference from overlay/config (make unit fails while they
## differ)
docs:
	$(GO) test -count=1 -run '^TestDocs$$' ./stack/schema/ -update
	$(GO) test -count=1 -run '^TestDocs$$' ./overlay/config/ -update

## bench: RTT and allocation time over the local layer (in-process and with
## the real tools), FRCT goodput under loss, flow socket batches; as root,
## underlays and unicast relays against plain UDP, encrypted goodput under
## loss against TCP, the side-by-side harness: an ovpn link, wireguard-go
## and the bare veth on one veth pair, alternated (TCP 1 and 4 streams, UDP
## 64 B packets/s, ping and oping RTT, CPU s per GB, flow allocation time;
## bench/results.json, compared with go run ./internal/benchcmp OLD NEW);
## the DNS bridge in ovpn: connected and on-demand names, queries/s, the
## upstream forwarder (bench/dns.json); AEAD and key-exchange cost; what a
## spoofed flow request costs a shim under load; the data path's stages
## with -benchmem (DT header, pipes, the ovpn engine, its route and MAC
## tables, tun batches and offloads, UDP batches, lower flows). Installs wg
## (wireguard-tools) and wireguard-go when missing.
bench: build bench-tools
	OUROBOROS_BIN=$(BIN) BENCH_RESULTS=$(CURDIR)/bench/results.json WIREGUARD_GO=$(WIREGUARD_GO) DNS_BENCH_JSON=$(CURDIR)/bench/dns.json $(GO) test -run '^$$' -bench . -benchtime 2s -timeout 60m ./stack/flow/ ./internal/e2e/
	$(GO) test -run '^$$' -bench . -benchtime 20000x ./stack/frct/
	$(GO) test -run '^$$' -bench . -benchmem ./stack/seqpkt/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./stack/crypt/ ./stack/crypt/oap/
	$(GO) test -run '^$$' -bench . -benchtime 1s ./stack/ipcp/shim/
	$(GO) test -run '^$$' -bench . -benchmem ./overlay/packet/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./stack/unicast/dt/ ./stack/ipcp/ ./overlay/link/ ./overlay/route/ ./overlay/mac/ ./tunif/ ./stack/internal/mmsg/
	$(GO) test -run '^$$' -bench LowerFlow -benchmem -benchtime 1s ./stack/irm/
	@echo "make bench wrote bench/results.json (ovpn, wireguard-go, bare veth side by side) and bench/dns.json"

## bench-ovpn: only the side-by-side harness (bench/results.json);
## BENCH_ROUNDS=1 BENCH_SECS=2 make bench-ovpn for a quick look
bench-ovpn: build bench-tools
	OUROBOROS_BIN=$(BIN) BENCH_RESULTS=$(CURDIR)/bench/results.json WIREGUARD_GO=$(WIREGUARD_GO) $(GO) test -run '^$$' -bench '^BenchmarkE2EOvpn$$' -benchtime 1x -timeout 60m ./internal/e2e/

# bench-tools: what the side-by-side harness runs besides our binaries.
bench-tools:
	@command -v iperf3 >/dev/null && command -v ping >/dev/null || apt-get install -y iperf3 iputils-ping
	@command -v wg >/dev/null || apt-get install -y --no-install-recommends wireguard-tools
	@test -x $(WIREGUARD_GO) || $(GO) install $(WIREGUARD)

## demo: start irmd in a temporary run directory and show flows on one host
demo: build
	BIN=$(BIN) ./internal/demo/demo.sh

## package: .deb and .rpm into dist/ (nfpm, pinned)
package: build
	mkdir -p dist
	cd packaging && for fmt in deb rpm; do \
		VERSION=$(VERSION) GOARCH=$$($(GO) env GOARCH) \
		$(GO) run $(NFPM) package --config nfpm.yaml --packager $$fmt --target ../dist/ || exit 1; done

## package-check: build the packages and check what they hold
package-check: package
	./packaging/check.sh

clean:
	rm -rf $(BIN) dist e2e.out fuzz.out
