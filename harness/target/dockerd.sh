#!/usr/bin/env bash
# Makes sure a Docker engine answers, for the container target.
#
# As root: installs Debian's docker.io when dockerd is missing, and starts
#   dockerd --bridge=none --iptables=false --ip-masq=false
# in the background when `docker info` fails (no bridge network, no iptables
# rules: containers run with host networking on loopback only). Its log goes
# to /tmp/wirecheck-dockerd.log. Waits up to 60 s for `docker info`.
# Does nothing when an engine already answers. Exits non-zero, saying why,
# when it cannot get one.
set -euo pipefail

log=/tmp/wirecheck-dockerd.log
wait_s=60

say() { echo "dockerd.sh: $*" >&2; }

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	say "a Docker engine already answers"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	say "no Docker engine answers and starting one needs root; run: sudo $0"
	exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
	say "installing docker.io"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
	say "starting dockerd (log: $log)"
	# setsid: the daemon outlives this script and the shell that ran it.
	setsid dockerd --bridge=none --iptables=false --ip-masq=false >"$log" 2>&1 </dev/null &
fi

deadline=$((SECONDS + wait_s))
until docker info >/dev/null 2>&1; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		say "no answer from dockerd within ${wait_s}s; the end of $log:"
		tail -n 20 "$log" >&2 || true
		exit 1
	fi
	sleep 0.5
done
say "Docker engine ready: $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
