#!/usr/bin/env bash
# Best-effort install of the system tools some tests use: docker-compose (validates
# docker-compose.yml; Docker itself cannot run here) and chromium (browser tests of the
# workplace). Installs only what is missing, only as root with apt-get. It never fails the
# build: it says what it did, or warns and carries on.
set -uo pipefail

# package -> command it provides
declare -A COMMANDS=([docker-compose]=docker-compose [chromium]=chromium)

missing=()
for package in docker-compose chromium; do
    if command -v "${COMMANDS[$package]}" >/dev/null 2>&1; then
        echo "system-deps: ${package} present ($(command -v "${COMMANDS[$package]}"))"
    else
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

warn() { echo "system-deps: WARNING: $*; continuing without it" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    warn "not root, cannot install ${missing[*]} (try: sudo apt-get install ${missing[*]})"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    warn "no apt-get, cannot install ${missing[*]}"
    exit 0
fi

echo "system-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
apt() {
    if ! apt-get -o DPkg::Lock::Timeout=120 "$@" >"$apt_log" 2>&1; then
        tail -n 5 "$apt_log" | sed 's/^/    /' >&2
        return 1
    fi
}
apt update -qq || warn "apt-get update failed"
# One at a time, so a package this release lacks does not block the others.
for package in "${missing[@]}"; do
    if apt install -y -qq --no-install-recommends "$package"; then
        echo "system-deps: installed ${package} ($(command -v "${COMMANDS[$package]}"))"
    else
        warn "apt-get install ${package} failed"
    fi
done
exit 0
