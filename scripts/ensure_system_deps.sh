#!/usr/bin/env bash
# Best-effort install of the system tools some tests use: docker-compose (validates
# docker-compose.yml; Docker itself cannot run here), chromium (browser tests of the
# workplace), Pango (the dossier's PDF, WeasyPrint) and a CJK font (Chinese text in Chromium
# and in the PDF) and LibreOffice Calc (the bulletin's spreadsheet is opened by it). Installs
# only what is missing, only as root with apt-get. It never fails the build: it says what it
# did, or warns and carries on.
set -uo pipefail

# package -> the check that it is present
declare -A CHECKS=(
    [docker-compose]="command -v docker-compose"
    [chromium]="command -v chromium"
    [libpangoft2-1.0-0]="ldconfig -p | grep -q libpangoft2-1.0.so.0"
    [fonts-wqy-microhei]="fc-list :lang=zh family | grep -q ."
    [libreoffice-calc-nogui]="command -v soffice"
)
PACKAGES=(docker-compose chromium libpangoft2-1.0-0 fonts-wqy-microhei libreoffice-calc-nogui)

present() { bash -c "${CHECKS[$1]}" >/dev/null 2>&1; }

missing=()
for package in "${PACKAGES[@]}"; do
    if present "$package"; then
        echo "system-deps: ${package} present"
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
        echo "system-deps: installed ${package}"
    else
        warn "apt-get install ${package} failed"
    fi
done
exit 0
