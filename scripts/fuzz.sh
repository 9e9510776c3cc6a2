#!/usr/bin/env bash
# Runs every Fuzz* target in the module for the given time each (default 30s).
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-30s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== $pkg $name ($time)"
		go test -run='^$' -fuzz="^${name}\$" -fuzztime="$time" "$pkg"
	done
done
