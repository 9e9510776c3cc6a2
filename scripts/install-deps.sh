#!/usr/bin/env bash
# Installs the Debian packages the tests use beyond the test bed's own servers
# (those are installed by internal/testbed/cmd/bedinstall): nginx in front of
# OpenSearch, Chromium for the HTML report screenshot, apktool and friends to
# build test APKs (smali assembles test dex files), Java and Maven for the
# OpenSearch node, nats-server (JetStream) for the queue's workers, tcpdump to
# record the captures gown traffic reads, mitmproxy (PyPI, in a venv under
# /var/cache/gown) to record HAR files, zsh, fish and groff for the completion
# scripts and the man page; and, from npm, hermesc for the Hermes bundles, a
# real Dart AOT snapshot (sass-embedded-linux-x64), a real Swift binary
# (get-windows), the SARIF Multitool, and Azurite for the Azure Blob test
# bed. Only when root (npm fetches also as a user) and only
# what is missing; it says what it installs.
set -euo pipefail
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v chromium >/dev/null || need+=(chromium)
command -v apktool >/dev/null || need+=(apktool)
command -v zipalign >/dev/null || need+=(zipalign)
command -v apksigner >/dev/null || need+=(apksigner)
command -v smali >/dev/null || need+=(libsmali-java)   # assembles the dex of the run-time data-flow tests
command -v gcc >/dev/null || need+=(gcc)   # builds the native library with UTF-16 literals the extraction tests read
command -v lz4 >/dev/null || need+=(lz4)   # compresses the Xamarin (XALZ) assembly of the extraction tests
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v npm >/dev/null || need+=(npm)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
# The shells whose completion scripts gown completion writes (bash is always
# there), and groff to format gown man.
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
command -v groff >/dev/null || need+=(groff-base)
command -v tcpdump >/dev/null || [ -x /usr/sbin/tcpdump ] || need+=(tcpdump)
command -v curl >/dev/null || need+=(curl)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
# Packages the extraction tests read, fetched once with npm pack into the
# cache the real-app tests use (no root needed, so also for a user's own run;
# after apt when root, which may have just installed npm): hermesc (npm
# hermes-compiler, MIT) compiles the Hermes bytecode bundles; the Dart AOT
# snapshot of sass-embedded-linux-x64 (MIT) is the real libapp.so-shaped
# library of the Flutter shapes; get-windows (MIT) ships a universal Swift
# binary, read for Swift's short string literals.
fetch_hermes() {
	local app_cache=${GOWN_APP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gown/apps}
	local pkg
	for pkg in hermes-compiler@260318099.0.6 sass-embedded-linux-x64@1.108.2 get-windows@9.2.3; do
		if command -v npm >/dev/null && [ ! -f "$app_cache/${pkg//@/-}.tgz" ]; then
			echo "install-deps: npm pack $pkg into $app_cache" >&2
			mkdir -p "$app_cache" && npm pack "$pkg" --pack-destination "$app_cache" >/dev/null || true
		fi
	done
}
# The SARIF Multitool (npm @microsoft/sarif-multitool, MIT) checks the SARIF
# report against GitHub's ingestion rules (report/multitool_test.go fetches it
# the same way when this has not). Its npm package ships the Linux binary.
fetch_multitool() {
	local mt="${GOWN_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gown/tools}/sarif-multitool-5.7.0"
	if [ ! -x "$mt/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" ] && command -v npm >/dev/null; then
		echo "install-deps: npm install @microsoft/sarif-multitool-linux@5.7.0 into $mt" >&2
		npm install --ignore-scripts --no-audit --no-fund --prefix "$mt" @microsoft/sarif-multitool-linux@5.7.0 >/dev/null &&
			chmod +x "$mt/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" || true
	fi
}
# Azurite (npm azurite, MIT, Microsoft's Azure Storage emulator) serves the
# Azure Blob configurations of the test bed (internal/testbed/azblob.go), which
# installs it the same way, into the same folder, when this has not: pinned,
# --ignore-scripts, its Blob service started with telemetry off.
fetch_azurite() {
	local az="${XDG_CACHE_HOME:-$HOME/.cache}/gown-testbed/azurite"
	if [ ! -f "$az/node_modules/azurite/dist/src/blob/main.js" ] && command -v npm >/dev/null; then
		echo "install-deps: npm install azurite@3.37.0 into $az" >&2
		mkdir -p "$az"
		[ -f "$az/package.json" ] || echo '{"name":"gown-testbed-azurite","private":true}' >"$az/package.json"
		(cd "$az" && npm install --ignore-scripts --no-audit --no-fund --no-update-notifier azurite@3.37.0 >/dev/null) || true
	fi
}
mitm=/var/cache/gown/mitmproxy-venv
if [ "$(id -u)" -ne 0 ]; then
	[ ${#need[@]} -eq 0 ] || echo "install-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
	[ -x $mitm/bin/mitmdump ] || echo "install-deps: missing mitmproxy; run as root to install it in $mitm" >&2
	fetch_hermes
	fetch_multitool
	fetch_azurite
	exit 0
fi
if [ ${#need[@]} -gt 0 ]; then
	echo "install-deps: apt-get install -y ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q "${need[@]}" >/dev/null
fi
# mitmproxy 11.0.2 is the newest that runs on Debian 12's Python 3.11.
if [ ! -x $mitm/bin/mitmdump ]; then
	echo "install-deps: pip install mitmproxy==11.0.2 into $mitm" >&2
	mkdir -p /var/cache/gown
	/usr/bin/python3 -m venv $mitm
	$mitm/bin/pip install -q mitmproxy==11.0.2
fi
fetch_hermes
fetch_multitool
fetch_azurite
