#!/usr/bin/env bash
# Builds a Mosquitto image offline, for the container target when no
# registry is reachable: Debian's /usr/sbin/mosquitto, the shared libraries
# ldd lists and the dynamic loader, minimal /etc/passwd and /etc/group and
# the /mosquitto/{config,data,log} layout of eclipse-mosquitto, imported
# with `docker import`.
#
#   harness/target/mkimage.sh [TAG]     (default wirecheck/mosquitto:2.0.11-debian)
#
# Needs a Docker engine (harness/target/dockerd.sh starts one) and, when
# mosquitto is missing, root to install it. Does nothing if TAG exists.
set -euo pipefail

tag=${1:-wirecheck/mosquitto:2.0.11-debian}
bin=/usr/sbin/mosquitto

say() { echo "mkimage.sh: $*" >&2; }

if docker image inspect "$tag" >/dev/null 2>&1; then
	say "image $tag already exists"
	exit 0
fi

if [ ! -x "$bin" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		say "$bin missing: install Debian package mosquitto (as root)"
		exit 1
	fi
	say "installing mosquitto"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
fi

root=$(mktemp -d /tmp/wirecheck-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

# add PATH...: copy files into the rootfs at the same paths, symlinks resolved.
add() {
	local f
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
}

add "$bin"
# ldd prints "libx.so.1 => /path/libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
mapfile -t libs < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if [ "${#libs[@]}" -eq 0 ]; then
	say "ldd found no libraries for $bin"
	exit 1
fi
add "${libs[@]}"

mkdir -p "$root/etc/mosquitto/conf.d" "$root/mosquitto/config" "$root/mosquitto/data" "$root/mosquitto/log" "$root/tmp"
chmod 1777 "$root/tmp"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
mosquitto:x:1883:1883:mosquitto:/mosquitto:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
mosquitto:x:1883:
nogroup:x:65534:
EOF
# Used only when the container is run without a config of its own (the
# wirecheck target always copies one in): localhost only, as mosquitto 2
# does by default.
cat >"$root/mosquitto/config/mosquitto.conf" <<'EOF'
user root
persistence true
persistence_location /mosquitto/data/
log_dest stderr
listener 1883 127.0.0.1
allow_anonymous true
EOF
cp "$root/mosquitto/config/mosquitto.conf" "$root/etc/mosquitto/mosquitto.conf"

version=$("$bin" -h 2>/dev/null | head -n 1 || true)
say "importing $tag (${version:-mosquitto}, ${#libs[@]} libraries)"
tar -C "$root" --numeric-owner -c . | docker import \
	--change 'CMD ["/usr/sbin/mosquitto","-c","/mosquitto/config/mosquitto.conf"]' \
	--change "LABEL org.opencontainers.image.description=\"${version:-mosquitto} from Debian, built offline by wirecheck\"" \
	- "$tag" >/dev/null
say "built $tag"
