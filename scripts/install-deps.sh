#!/usr/bin/env bash
# Installs the Debian packages the tests use beyond the test bed's own servers
# (those are installed by internal/testbed/cmd/bedinstall): nginx in front of
# OpenSearch, Chromium for the HTML report screenshot, apktool and friends to
# build test APKs, Java and Maven for the OpenSearch node, and nats-server
# (JetStream) for the queue's workers, zsh, fish and groff for the completion
# scripts and the man page. Only when root and only what is
# missing; it says what it installs.
set -euo pipefail
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v chromium >/dev/null || need+=(chromium)
command -v apktool >/dev/null || need+=(apktool)
command -v zipalign >/dev/null || need+=(zipalign)
command -v apksigner >/dev/null || need+=(apksigner)
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v npm >/dev/null || need+=(npm)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
# The shells whose completion scripts gown completion writes (bash is always
# there), and groff to format gown man.
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
command -v groff >/dev/null || need+=(groff-base)
# The SARIF Multitool (npm @microsoft/sarif-multitool, MIT) checks the SARIF
# report against GitHub's ingestion rules (report/multitool_test.go fetches it
# the same way when this has not). Its npm package ships the Linux binary.
mt="${GOWN_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gown/tools}/sarif-multitool-5.7.0"
if [ ! -x "$mt/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" ] && command -v npm >/dev/null; then
	echo "install-deps: npm install @microsoft/sarif-multitool-linux@5.7.0 into $mt" >&2
	npm install --ignore-scripts --no-audit --no-fund --prefix "$mt" @microsoft/sarif-multitool-linux@5.7.0 >/dev/null &&
		chmod +x "$mt/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
	exit 0
fi
echo "install-deps: apt-get install -y ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q "${need[@]}" >/dev/null
