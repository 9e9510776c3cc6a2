#!/usr/bin/env bash
# make bench: gown against zgrab2 and nmap and the raw TCP connect ceiling, on
# a loopback farm of real servers (internal/bench). Needs root: it installs
# Debian packages and runs everything inside a network namespace of its own,
# whose loopback drops SYNs to 127.99.0.0/16 so that filtered ports are in the
# mix. Every packet stays on that namespace's loopback.
#
#   scripts/bench.sh [gownbench flags]      e.g. -sizes 10000 -scale 0 -no-peers
#
# Peers go into BENCH_CACHE (default ~/.cache/gown-bench), never into the
# repository's go.mod: zgrab2 from the Go module proxy through a throwaway
# tools module, nmap from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root (apt-get, ip netns, iptables)" >&2
	exit 1
fi

CACHE=${BENCH_CACHE:-$HOME/.cache/gown-bench}
ZGRAB2_VERSION=v0.1.8
mkdir -p "$CACHE/bin"

need=()
for p in nmap:nmap time:/usr/bin/time iptables:iptables iproute2:ip redis-server:redis-server \
	memcached:memcached mariadb-server:mariadbd mariadb-client:mariadb postgresql:psql; do
	command -v "${p#*:}" >/dev/null 2>&1 || [ -x "${p#*:}" ] || need+=("${p%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: apt-get install ${need[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# zgrab2: `go install …@v0.1.8` asks the proxy for the version list, which it
# refuses; a tools module that requires the exact version builds it.
if [ ! -x "$CACHE/bin/zgrab2" ]; then
	echo "bench: building zgrab2 $ZGRAB2_VERSION into $CACHE/bin" >&2
	tools="$CACHE/tools"
	rm -rf "$tools" && mkdir -p "$tools"
	(cd "$tools" && export GOMODCACHE="$CACHE/gomod" GOFLAGS=-mod=mod GOWORK=off &&
		go mod init gownbench/tools >/dev/null 2>&1 &&
		go get "github.com/zmap/zgrab2@$ZGRAB2_VERSION" >/dev/null 2>&1 &&
		go build -o "$CACHE/bin/zgrab2" github.com/zmap/zgrab2/cmd/zgrab2)
fi

CGO_ENABLED=0 go build -o bin/gown ./cmd/gown   # as make build does
go build -o "$CACHE/bin/gownbench" ./internal/bench/cmd/gownbench

ns="gownbench-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" iptables -A INPUT -i lo -d 127.99.0.0/16 -p tcp --syn -j DROP
# A million closed ports in a few seconds: widen the ephemeral range and let
# TIME_WAIT sockets be reused, inside the namespace only.
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1

ip netns exec "$ns" "$CACHE/bin/gownbench" -gown bin/gown -zgrab2 "$CACHE/bin/zgrab2" -nmap "$(command -v nmap)" "$@"
