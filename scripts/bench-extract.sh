#!/usr/bin/env bash
# Compares `gown app --extract-only APK` with `unzip -p APK > /dev/null` on
# the real APKs of the test bed (shared/testbed.md): the npm packages are
# fetched once with `npm pack` into the cache folder the tests use
# (GOWN_APP_CACHE, default ~/.cache/gown/apps), never into the repository.
#
# For each APK: its size; the best and the median wall time of RUNS runs of
# each command (alternating, after a warm-up run each, the file in the page
# cache) and the ratios gown/unzip of both (the best is the one that other
# load on the machine disturbs least); gown's peak RSS (GNU time, largest of
# three runs); that RSS less the RSS of the same command on the smallest APK
# (0.2 MB: the binary, the Go runtime and the extraction code, loaded); the Go
# heap's peak (GODEBUG=gctrace=1, largest heap at the end of a GC); and the
# largest entry's uncompressed size.
#
# gown stores each run, as a user's run does, in a results store of the
# bench's own (a temporary XDG_DATA_HOME), not the user's: hundreds of
# scans of the same APK would otherwise join the user's history. The
# "no store" columns time `--no-store` in the same loop: extraction alone,
# without SQLite's open, commit and checkpoint (two of them fsyncs), which
# on a 0.2 MB APK cost as much as reading it.
#
# A second table splits the smallest APK's times into a fixed cost and
# reading: each command on the APK and on a copy without its largest entry
# (it needs zip).
#
# With OTHER (a second gown binary, e.g. an earlier build), it is timed in
# the same loop, between unzip and this checkout's gown, and gets a row of
# its own below each app's: a before/after pair that the machine's drift
# from minute to minute does not split (as bench-extract-cpu.sh's OTHER).
# OTHER keeps a store of its own too: an older gown refuses a store whose
# schema a newer one has migrated.
#
# Usage: scripts/bench-extract.sh [RUNS] [OTHER]   (default 11)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-11}
before=${2:-}
[ -z "$before" ] || [ -x "$before" ] || { echo "bench-extract: $before is not an executable" >&2; exit 1; }
cache=${GOWN_APP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gown/apps}

for tool in unzip npm /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench-extract: $tool is needed" >&2; exit 1; }
done

# package@version and the APKs it ships (as in extract/real_test.go).
apps=(
	"android-apidemos@5.0.0 package/apks/ApiDemos-debug.apk"
	"io.appium.settings@8.0.10 package/apks/settings_apk-debug.apk"
	"appium-uiautomator2-server@10.6.6 package/apks/appium-uiautomator2-server-v10.6.6.apk"
	"appium-uiautomator2-server@10.6.6 package/apks/appium-uiautomator2-server-debug-androidTest.apk"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_DATA_HOME=$work/data
# other runs OTHER with its own store.
other() { XDG_DATA_HOME=$work/data-other "$before" "$@"; }
CGO_ENABLED=0 go build -o "$work/gown" ./cmd/gown   # as make build does
mkdir -p "$cache"

# seconds prints the wall time of one run of "$@", output discarded, in
# microseconds, read from bash's own clock (EPOCHREALTIME, bash 5) before
# and after. Reading it with `date` added that program's own start, about a
# millisecond, to every figure, unzip's and gown's alike: it pulled the
# 0.2 MB APK's ratio towards 1 (1.70 against 1.82-1.98 timed from a Go
# parent on the same machine, BENCHMARKS.md).
seconds() {
	local s e
	if [ -n "${EPOCHREALTIME:-}" ]; then
		s=${EPOCHREALTIME//[!0-9]/}
		"$@" >/dev/null 2>&1
		e=${EPOCHREALTIME//[!0-9]/}
		echo $((10#$e - 10#$s))
		return
	fi
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s%N)
	echo $(((e - s) / 1000))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
least() { sort -n | head -1; }

# charged prints the peak memory charged to a memory cgroup made for one run
# of "$@", in KiB: what the process itself needed (heap, stacks, page
# tables, written data pages), without the pages of the 30 MB binary that
# the page cache holds and any process shares, which peak RSS counts. "-"
# when no memory cgroup can be made here (it needs root).
charged() {
	local base cg peak=-
	for base in /sys/fs/cgroup/memory /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -w "$base" ] && { [ -e "$base/memory.max_usage_in_bytes" ] || [ -e "$base/cgroup.controllers" ]; } && break
		base=
	done
	if [ -n "$base" ] && cg="$base/gown-bench-$$" && mkdir "$cg" 2>/dev/null; then
		sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@" >/dev/null 2>&1
		if [ -e "$cg/memory.max_usage_in_bytes" ]; then
			peak=$(($(cat "$cg/memory.max_usage_in_bytes") / 1024))
		elif [ -e "$cg/memory.peak" ]; then
			peak=$(($(cat "$cg/memory.peak") / 1024))
		fi
		rmdir "$cg"
	fi
	echo "$peak"
}

# maxrss prints the peak resident set of one run of "$@", in KiB.
maxrss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

# heap prints the largest Go heap at the end of a GC in one run, in MB.
# 0 when no GC ran: the heap never reached the 4 MB of Go's first collection.
heap() { { GODEBUG=gctrace=1 "$@" 2>&1 >/dev/null | grep -oE '[0-9]+->[0-9]+->[0-9]+ MB' || true; } | awk -F'->' '$2+0 > m {m = $2+0} END {print m+0}'; }

for line in "${apps[@]}"; do
	read -r pkg member <<<"$line"
	tgz="$cache/$(echo "${pkg#@}" | tr '@' '-').tgz"
	[ -f "$tgz" ] || npm pack "$pkg" --pack-destination "$cache" >/dev/null
	tar -xzf "$tgz" -C "$work" "$member"
done
smallest=$(ls -S "$work"/package/apks/*.apk | tail -1)
idle=$(maxrss "$work/gown" app --extract-only "$smallest")
base=$(charged "$work/gown" version)
printf '%-50s %7s %9s %9s %6s %9s %9s %6s %9s %6s %7s %7s %8s %8s %7s %8s\n' app "size MB" "unzip ms" "gown ms" ratio "unzip med" "gown med" ratio "no store" ratio "RSS MB" "net MB" "charged" "unzip ch" "heap MB" "entry MB"
for line in "${apps[@]}"; do
	read -r pkg member <<<"$line"
	apk="$work/$member"
	unzip_runs=() gown_runs=() before_runs=() bare_runs=() rss=0
	unzip -p "$apk" >/dev/null
	"$work/gown" app --extract-only "$apk" >/dev/null 2>&1
	"$work/gown" app --extract-only --no-store "$apk" >/dev/null
	[ -z "$before" ] || other app --extract-only "$apk" >/dev/null 2>&1
	for _ in $(seq "$runs"); do
		unzip_runs+=("$(seconds unzip -p "$apk")")
		[ -z "$before" ] || before_runs+=("$(seconds other app --extract-only "$apk")")
		gown_runs+=("$(seconds "$work/gown" app --extract-only "$apk")")
		bare_runs+=("$(seconds "$work/gown" app --extract-only --no-store "$apk")")
	done
	ch=- uch=-
	for _ in 1 2 3; do
		r=$(maxrss "$work/gown" app --extract-only "$apk")
		((r > rss)) && rss=$r
		c=$(charged "$work/gown" app --extract-only "$apk")
		[ "$c" != - ] && { [ "$ch" = - ] || ((c > ch)); } && ch=$c
		c=$(charged unzip -p "$apk")
		[ "$c" != - ] && { [ "$uch" = - ] || ((c > uch)); } && uch=$c
	done
	u=$(printf '%s\n' "${unzip_runs[@]}" | least)
	g=$(printf '%s\n' "${gown_runs[@]}" | least)
	um=$(printf '%s\n' "${unzip_runs[@]}" | median)
	gm=$(printf '%s\n' "${gown_runs[@]}" | median)
	nb=$(printf '%s\n' "${bare_runs[@]}" | least)
	nm=$(printf '%s\n' "${bare_runs[@]}" | median)
	h=$(heap "$work/gown" app --extract-only "$apk")
	largest=$(unzip -Zl "$apk" | awk '$1 ~ /^[-d]/ && $4+0 > m {m = $4+0} END {print m}')
	awk -v app="$(basename "$apk")" -v size="$(stat -c %s "$apk")" -v u="$u" -v g="$g" -v um="$um" -v gm="$gm" -v nb="$nb" -v nm="$nm" \
		-v rss="$rss" -v idle="$idle" -v heap="$h" -v big="$largest" -v ch="$ch" -v uch="$uch" \
		'function mb(k) {return k == "-" ? "-" : sprintf("%.1f", k/1024)}
		BEGIN {printf "%-50s %7.1f %9.1f %9.1f %6.2f %9.1f %9.1f %6.2f %9s %6s %7.1f %7.1f %8s %8s %7d %8.1f\n", app, size/1e6, u/1000, g/1000, g/u, um/1000, gm/1000, gm/um, sprintf("%.1f/%.1f", nb/1000, nm/1000), sprintf("%.2f/%.2f", nb/u, nm/um), rss/1024, (rss-idle)/1024, mb(ch), mb(uch), heap, big/1048576}'
	if [ -n "$before" ]; then
		b=$(printf '%s\n' "${before_runs[@]}" | least)
		bm=$(printf '%s\n' "${before_runs[@]}" | median)
		awk -v u="$u" -v b="$b" -v um="$um" -v bm="$bm" \
			'BEGIN {printf "%-50s %7s %9s %9.1f %6.2f %9s %9.1f %6.2f\n", "  (OTHER)", "", "", b/1000, b/u, "", bm/1000, bm/um}'
	fi
done
# The floor: the smallest APK against a copy of it without its largest
# entry (its classes.dex), each command timed on both in the same loop. The
# copy holds nothing to speak of to read, so its times are each command's
# fixed cost (its start and exit, and for gown the store's open, commit and
# checkpoint), and the differences are what reading the entry costs each.
if command -v zip >/dev/null; then
	floor=$work/floor.apk
	cp "$smallest" "$floor"
	entry=$(unzip -Zl "$smallest" | awk '$1 ~ /^-/ && $4+0 > m {m = $4+0; n = $NF} END {print n}')
	zip -q -d "$floor" "$entry"
	declare -A fl=()
	for _ in $(seq "$runs"); do
		for f in "$smallest" "$floor"; do
			k=${f##*/}
			fl[unzip $k]+="$(seconds unzip -p "$f") "
			fl[gown $k]+="$(seconds "$work/gown" app --extract-only "$f") "
			fl[bare $k]+="$(seconds "$work/gown" app --extract-only --no-store "$f") "
		done
	done
	declare -A best=() med=()
	for k in "${!fl[@]}"; do
		best[$k]=$(printf '%s\n' ${fl[$k]} | least)
		med[$k]=$(printf '%s\n' ${fl[$k]} | median)
	done
	whole=${smallest##*/} part=${floor##*/}
	u=${best[unzip $whole]}
	# cell prints best/median ms and the best's ratio to unzip's best on the whole APK.
	cell() { awk -v x="${best[$1]}" -v y="${med[$1]}" -v u="$u" 'BEGIN {printf "%.1f/%.1f (%.2f)", x/1000, y/1000, x/u}'; }
	echo
	echo "$whole: fixed cost and reading (best / median ms; the ratio is to unzip -p of the whole APK)"
	printf '%-28s %17s %17s %17s\n' "" "unzip -p" "gown" "gown --no-store"
	printf '%-28s %17s %17s %17s\n' "whole APK" "$(cell "unzip $whole")" "$(cell "gown $whole")" "$(cell "bare $whole")"
	printf '%-28s %17s %17s %17s\n' "without $entry" "$(cell "unzip $part")" "$(cell "gown $part")" "$(cell "bare $part")"
	awk -v a="$u" -v b="${best[unzip $part]}" -v c="${best[gown $whole]}" -v d="${best[gown $part]}" -v e="${best[bare $whole]}" -v f="${best[bare $part]}" \
		'BEGIN {printf "%-28s %17.1f %17.1f %17.1f\n", "reading (whole - without)", (a-b)/1000, (c-d)/1000, (e-f)/1000}'
else
	echo "(the fixed-cost table needs zip, which is not installed)"
fi
echo
echo "(best and median of $runs runs each; no store = gown app --extract-only --no-store, best/median ms and their ratios to unzip's; net MB = RSS less $((idle / 1024)) MB, the RSS of gown app --extract-only on $(basename "$smallest"); charged = peak memory charged to a cgroup of its own (largest of 3 runs), unzip ch the same for unzip -p, gown version alone: $([ "$base" = - ] && echo - || echo "$((base / 1024)) MB"); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(go env GOVERSION))"
