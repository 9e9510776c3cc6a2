#!/usr/bin/env bash
# Installs the Debian packages the tests use beyond the test bed's own servers
# (those are installed by internal/testbed/cmd/bedinstall): nginx in front of
# OpenSearch, Chromium for the HTML report screenshot, apktool and friends to
# build test APKs, Java and Maven for the OpenSearch node, and nats-server
# (JetStream) for the queue's workers, tcpdump to record the captures gown
# traffic reads, and mitmproxy (PyPI, in a venv under /var/cache/gown) to
# record HAR files. Only when root and only what is missing; it says what it
# installs.
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
command -v tcpdump >/dev/null || [ -x /usr/sbin/tcpdump ] || need+=(tcpdump)
command -v curl >/dev/null || need+=(curl)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
mitm=/var/cache/gown/mitmproxy-venv
if [ "$(id -u)" -ne 0 ]; then
	[ ${#need[@]} -eq 0 ] || echo "install-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
	[ -x $mitm/bin/mitmdump ] || echo "install-deps: missing mitmproxy; run as root to install it in $mitm" >&2
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
