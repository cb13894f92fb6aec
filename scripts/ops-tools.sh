#!/usr/bin/env bash
# The Debian packages the ops tests use (PgBouncer), installed when missing.
# Needs root (or sudo) and Debian's package registry; `make test` runs it, and the ops
# tests skip, saying why, on a machine where it cannot install them.
set -uo pipefail
missing=()
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; else
        echo "ops-tools: not root, cannot install ${missing[*]}; the ops tests will skip" >&2; exit 0
    fi
else
    SUDO=
fi
command -v apt-get >/dev/null 2>&1 || { echo "ops-tools: no apt-get; the ops tests will skip" >&2; exit 0; }
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    echo "ops-tools: could not install ${missing[*]}; the ops tests will skip" >&2
fi
# Debian starts the packaged service; the tests run their own instance.
$SUDO service pgbouncer stop >/dev/null 2>&1 || true
exit 0
