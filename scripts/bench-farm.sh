#!/usr/bin/env bash
# Holds the bench farm (internal/bench) in a network namespace of its own and
# runs scan commands against it in turn, several rounds, printing each one's
# wall time and the load average: for alternating two binaries on one farm
# when the machine is shared (BENCHMARKS.md, issue #16). Needs root.
#
#   OFFSET=10000 SIZES=10000 ROUNDS=3 scripts/bench-farm.sh SCANS
#
# SCANS has one scan a line, "name command…"; $W in a command is the folder
# holding the farm's lists: hosts-N.txt and urls-N.txt (one URL per host and
# store port). OFFSET moves the farm's ports (10000: 16379, 13306, 15432,
# 21211, which no prober claims). Every packet stays on the namespace's
# loopback; the namespace is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] || [ $# -ne 1 ]; then
	echo "usage (as root): [OFFSET=0] [SIZES=10000] [ROUNDS=3] scripts/bench-farm.sh SCANS" >&2
	exit 2
fi
scans=$(realpath "$1")
ns="gownfarm-$$"
W=$(mktemp -d /tmp/gown-farm-XXXXXX)
farm=""
cleanup() {
	[ -n "$farm" ] && kill "$farm" 2>/dev/null && wait "$farm" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
CGO_ENABLED=0 go build -o bin/gown ./cmd/gown
go build -o "$W/gownbench" ./internal/bench/cmd/gownbench
ip netns exec "$ns" "$W/gownbench" farm -sizes "${SIZES:-10000}" -dir "$W" -filtered 0 -port-offset "${OFFSET:-0}" >"$W/farm.log" 2>&1 &
farm=$!
for _ in $(seq 180); do grep -q 'farm up' "$W/farm.log" && break; sleep 1; done
grep -q 'farm up' "$W/farm.log" || { cat "$W/farm.log" >&2; exit 1; }
grep ready "$W/farm.log"
export W
for r in $(seq "${ROUNDS:-3}"); do
	while read -r name cmd; do
		[ -z "$name" ] && continue
		s=$(date +%s.%N)
		ip netns exec "$ns" bash -c "$cmd" >"$W/out.jsonl" 2>"$W/err.txt" || true
		e=$(date +%s.%N)
		n=$(grep -c '"status"' "$W/out.jsonl" || true)
		open=$(grep -c '"status":"open"' "$W/out.jsonl" || true)
		printf "round %d %-28s %6.2f s  results %d open %d  load %s\n" "$r" "$name" "$(echo "$e - $s" | bc)" "$n" "$open" "$(cut -d' ' -f1 /proc/loadavg)"
	done <"$scans"
done
