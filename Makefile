# wirecheck — build, lint and test.
#
#   make test    install missing system packages (as root), then run every test
#   make build   build bin/wirecheck
#   make lint    gofmt check + go vet
#   make fuzz    run each fuzz target for FUZZTIME (default 30s)
#   make bench   run the Go benchmarks once

GO        ?= go
FUZZTIME  ?= 30s
TESTFLAGS ?= -race -count=1 -timeout 20m
# Debian packages the tests drive, each with a file that shows it is
# installed: real MQTT clients and broker, PostgreSQL for the REST store, and
# tshark, which the capture tests compare their byte counts with.
APT_NEEDS := /usr/sbin/mosquitto:mosquitto /usr/bin/mosquitto_pub:mosquitto-clients \
             /usr/lib/postgresql/*/bin/initdb:postgresql /usr/bin/tshark:tshark
# The container target's image, built offline from Debian's mosquitto
# (no registry is reachable here; a normal CI could use eclipse-mosquitto:2).
CONTAINER_IMAGE ?= wirecheck/mosquitto:2.0.11-debian
export WIRECHECK_CONTAINER_IMAGE ?= $(CONTAINER_IMAGE)
export TESTCONTAINERS_RYUK_DISABLED ?= true

.PHONY: all build test deps docker lint fuzz bench clean

all: lint build test

build:
	$(GO) build -o bin/wirecheck ./cmd/wirecheck

# deps installs what the tests need when it is missing. Without root it only
# reports what is missing; tests that need it then skip and say why.
deps:
	@missing=""; for need in $(APT_NEEDS); do \
		file=$${need%%:*}; pkg=$${need##*:}; \
		ls $$file >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing (apt-get)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "warning: missing$$missing and not root: tests that need them will skip"; \
	fi

# docker starts a Docker engine (installing docker.io as root when missing)
# and builds the offline Mosquitto image for the container target. Without
# root or Docker the container tests skip and say so (outside CI).
docker:
	@if [ "$$(id -u)" = 0 ] || docker info >/dev/null 2>&1; then \
		harness/target/dockerd.sh && harness/target/mkimage.sh $(CONTAINER_IMAGE); \
	else \
		echo "warning: not root and no Docker engine: container target tests will skip"; \
	fi

test: deps docker
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Each package's fuzz targets, one at a time (go test -fuzz takes one).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run=NONE -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

bench:
	$(GO) test -run=NONE -bench=. -benchtime=2s ./...

clean:
	rm -rf bin
