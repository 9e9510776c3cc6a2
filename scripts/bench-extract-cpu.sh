#!/usr/bin/env bash
# CPU time (user + system, GNU time) of `gown app --extract-only` against
# `unzip -p APK > /dev/null` on the real APKs of the test bed: the mean of
# RUNS runs of each, alternating. CPU time, unlike the wall time
# bench-extract.sh measures, barely moves when other jobs load the machine
# (it counts gown's two cores both: a stricter measure than wall time).
# With OTHER (a second gown binary, e.g. one built from main), it is timed
# too, for a before/after.
#
# Usage: scripts/bench-extract-cpu.sh [RUNS] [OTHER]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
other=${2:-}
cache=${GOWN_APP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gown/apps}
for tool in unzip npm /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench-extract-cpu: $tool is needed" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/gown" ./cmd/gown
mkdir -p "$cache"
for pkg in android-apidemos@5.0.0 io.appium.settings@8.0.10 appium-uiautomator2-server@10.6.6; do
	tgz="$cache/${pkg//@/-}.tgz"
	[ -f "$tgz" ] || npm pack "$pkg" --pack-destination "$cache" >/dev/null
	tar -xzf "$tgz" -C "$work" package/apks
done
# ms prints the CPU milliseconds of one run of "$@".
ms() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%d", ($1 + $2) * 1000}'; }
printf "%-50s %9s %9s %7s" apk "unzip ms" "gown ms" ratio
[ -n "$other" ] && printf " %9s %7s" "other ms" ratio
echo
for apk in "$work"/package/apks/*.apk; do
	u=0 g=0 o=0
	for _ in $(seq "$runs"); do
		u=$((u + $(ms unzip -p "$apk")))
		g=$((g + $(ms "$work/gown" app --extract-only --no-store -q "$apk")))
		[ -n "$other" ] && o=$((o + $(ms "$other" app --extract-only --no-store -q "$apk")))
	done
	ratio() { [ "$2" -gt 0 ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}' || echo "-"; }
	printf "%-50s %9.1f %9.1f %7s" "$(basename "$apk")" "$(awk -v a=$u -v n="$runs" 'BEGIN {print a / n}')" \
		"$(awk -v a=$g -v n="$runs" 'BEGIN {print a / n}')" "$(ratio $g $u)"
	[ -n "$other" ] && printf " %9.1f %7s" "$(awk -v a=$o -v n="$runs" 'BEGIN {print a / n}')" "$(ratio $o $u)"
	echo
done
echo "(mean CPU ms of $runs runs each, GNU time's 10 ms resolution; load $(cut -d' ' -f1-3 /proc/loadavg); $(go env GOVERSION))"
