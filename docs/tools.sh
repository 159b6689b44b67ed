#!/usr/bin/env bash
# Installs what the documentation and ABI checks need, when missing and when running as root
# with apt-get (as scripts/test.sh does for its other tools): doxygen, abigail-tools (abidw,
# abidiff), libuv headers (the guide's libuv snippet).
set -euo pipefail
pkgs=()
command -v doxygen >/dev/null 2>&1 || pkgs+=(doxygen)
{ command -v abidw >/dev/null 2>&1 && command -v abidiff >/dev/null 2>&1; } || pkgs+=(abigail-tools)
pkg-config --exists libuv 2>/dev/null || pkgs+=(libuv1-dev)
[ ${#pkgs[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install ${pkgs[*]} (Debian package names) first" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq "${pkgs[@]}" >/dev/null
