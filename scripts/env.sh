# Sourced by the other scripts: finds or creates the toolchain, idempotently.
#
#   DASSL_VENV   Python venv holding torch==2.11.0 (default: ~/.cache/dassl-rs/venv)
#   LIBTORCH     a libtorch 2.11.0 folder to build against instead of the venv's torch
#                (the venv is still made for the tests' Python reference code)
#   PYTHON       interpreter that creates the venv (default: python3)
set -euo pipefail

DASSL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DASSL_VENV="${DASSL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dassl-rs/venv}"
PYTHON="${PYTHON:-python3}"
REQUIREMENTS="$DASSL_ROOT/scripts/requirements-venv.txt"

say() { printf '[dassl-rs] %s\n' "$*" >&2; }

ensure_venv() {
    command -v "$PYTHON" >/dev/null || { say "error: $PYTHON not found; install Python 3.9+ or set PYTHON"; exit 2; }
    if [ ! -x "$DASSL_VENV/bin/python" ]; then
        say "creating the Python venv $DASSL_VENV"
        mkdir -p "$(dirname "$DASSL_VENV")"
        "$PYTHON" -m venv "$DASSL_VENV"
    fi
    local stamp="$DASSL_VENV/.dassl-requirements"
    if ! cmp -s "$REQUIREMENTS" "$stamp"; then
        say "installing pinned packages into $DASSL_VENV (torch is a CUDA wheel of about 4.7 GB: a few minutes the first time)"
        "$DASSL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
        cp "$REQUIREMENTS" "$stamp"
    fi
    local v
    v="$("$DASSL_VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')"
    if [ "$v" != "2.11.0" ]; then
        say "error: $DASSL_VENV holds torch $v, but tch 0.24 needs exactly 2.11.0; remove the venv or set DASSL_VENV"
        exit 2
    fi
}

# mozjpeg-sys assembles libjpeg-turbo's SIMD code with nasm when it is on PATH at build
# time. Without it JPEG decoding is still exact (the C code gives the same pixels) but
# about 1.6x slower, so set-up installs it where it can and says so where it cannot.
ensure_nasm() {
    command -v nasm >/dev/null && return 0
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    if command -v apt-get >/dev/null && { [ -z "$sudo" ] || sudo -n true 2>/dev/null; }; then
        say "installing nasm (libjpeg-turbo's SIMD code) with apt-get"
        $sudo apt-get install -y -qq nasm >/dev/null 2>&1 \
            || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq nasm >/dev/null 2>&1; } \
            || true
    elif command -v brew >/dev/null; then
        say "installing nasm (libjpeg-turbo's SIMD code) with Homebrew"
        brew install nasm >/dev/null 2>&1 || true
    fi
    command -v nasm >/dev/null \
        || say "warning: nasm not found and not installable here: JPEG decoding will be exact but slower (install nasm, then 'cargo clean -p mozjpeg-sys')"
}

# Exports what torch-sys needs and puts the venv first on PATH (tests call its python).
activate_toolchain() {
    ensure_venv
    ensure_nasm
    export VIRTUAL_ENV="$DASSL_VENV"
    export PATH="$DASSL_VENV/bin:$PATH"
    export DASSL_PYTHON="$DASSL_VENV/bin/python"
    if [ -n "${LIBTORCH:-}" ]; then
        local version_file="$LIBTORCH/build-version"
        if [ -f "$version_file" ] && ! grep -q '^2\.11\.0' "$version_file"; then
            say "error: LIBTORCH=$LIBTORCH is $(cat "$version_file"), tch 0.24 needs 2.11.0"
            exit 2
        fi
        unset LIBTORCH_USE_PYTORCH
        say "building against LIBTORCH=$LIBTORCH"
    else
        export LIBTORCH_USE_PYTORCH=1
    fi
    command -v cargo >/dev/null || { say "error: cargo not found; install Rust (rustup)"; exit 2; }
}

build_release() {
    say "building dassl-rs (release; the first build of torch-sys takes several minutes)"
    (cd "$DASSL_ROOT" && cargo build --release --workspace --quiet)
}
