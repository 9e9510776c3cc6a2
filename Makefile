# gown: the two commands a new user needs are `make demo` and `make test`.
GO ?= go
BIN := bin/gown
PKGS := ./...
# Packages with concurrency run under the race detector as part of `make test`.
RACE_PKGS := ./probe/... ./target/... ./cmd/... ./report/... ./store/... ./extract/... ./scan/... ./queue/... ./fleet/... ./watch/...
FUZZTIME ?= 30s

.PHONY: all build test test-race deps demo fuzz lint bench clean

all: build

# A static binary (no cgo: gown needs none) runs on any Linux box it is
# copied to and starts about 1 ms sooner than one linked to libc.
# -buildvcs=auto stamps the commit and its date for gown version (and
# SARIF's tool version) even where GOFLAGS turns stamping off.
build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -o $(BIN) ./cmd/gown

# Installs the real servers the tests need (apt-get as root, says what it does).
deps:
	./scripts/install-deps.sh
	$(GO) run ./internal/testbed/cmd/bedinstall

# Every test, including the ones against real servers, then the race detector
# over the concurrent packages.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)
	$(GO) test -race -count=1 $(RACE_PKGS)

test-race:
	$(GO) test -race -count=1 $(RACE_PKGS)

# Starts real servers on loopback with planted data, scans them, stores the
# scan (bin/gown report then opens it), stops them. The demo is its own
# binary so that gown links no test tooling.
demo: build deps
	CGO_ENABLED=0 $(GO) build -o bin/gown-demo ./cmd/gown-demo
	./bin/gown-demo

# Runs every fuzz target for FUZZTIME each.
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

lint:
	@test -z "$$(gofmt -s -l $$(git ls-files '*.go'))" || { gofmt -s -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	staticcheck $(PKGS)

# gown against zgrab2, nmap and the raw connect ceiling on a loopback farm of
# real servers (root; BENCHMARKS.md has the figures), e.g.
# make bench BENCHFLAGS='-sizes 10000 -scale 0'. The Go micro-benchmarks:
# go test -run='^$$' -bench=. -benchmem ./probe/ ./target/
bench:
	./scripts/bench.sh $(BENCHFLAGS)

clean:
	rm -rf bin
