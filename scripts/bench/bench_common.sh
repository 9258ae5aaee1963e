# Sourced by the issue-13 bench scripts after scripts/env.sh: the toolchain or prebuilt
# binaries, the scratch folder, the Python CoOp side's prerequisites, timing, and the
# machine description every results section starts with.

# BENCH_PYTHON set (scripts/gpu_check.sh): that interpreter and prebuilt binaries, no
# toolchain; otherwise the venv, and dassl built if missing.
if [ -z "${BENCH_PYTHON:-}" ]; then
    activate_toolchain
    BENCH_PYTHON="$DASSL_PYTHON"
fi
PY="$BENCH_PYTHON"
DASSL="${DASSL_BIN:-$DASSL_ROOT/target/release/dassl}"
WORK="${WORK:-/tmp/bench}"
mkdir -p "$WORK"
cd "$DASSL_ROOT"
[ -x "$DASSL" ] || nice cargo build --release --quiet

# Random weights of a released (or tiny) model's shape, written once into $WORK.
random_weights() {
    local f
    f="$WORK/$(echo "$1" | tr '/' '-' | tr 'A-Z' 'a-z').safetensors"
    [ -f "$f" ] || "$DASSL" clip random "$1" --out "$f" >&2
    echo "$f"
}

# CoOp's own train.py through scripts/compare/python_coop.py needs COOP_DIR, DASSL_DIR and
# Dassl's packages (yacs, tabulate, ...) on PYTHONPATH; without them that side is skipped.
python_coop_ready() {
    [ -n "${COOP_DIR:-}" ] && [ -d "$COOP_DIR" ] && [ -n "${DASSL_DIR:-}" ] && [ -d "$DASSL_DIR" ] \
        && "$BENCH_PYTHON" -c 'import yacs, tabulate' 2>/dev/null
}

# Wall seconds of a command (its output goes to $2's log), as a number on stdout.
timed() { # label logfile cmd...
    local log="$2"
    shift 2
    local t0 t1
    t0="$(date +%s.%N)"
    "$@" >"$log" 2>&1 || { say "failed: $* (see $log)"; return 1; }
    t1="$(date +%s.%N)"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# "machine: ..." lines for a results section: cores, CPU, GPU, software.
machine_lines() {
    local cpu gpu
    cpu="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "- Machine: $(nproc) cores (\`nproc\`), ${cpu:-unknown CPU}"
    if command -v nvidia-smi >/dev/null && gpu="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)" && [ -n "$gpu" ]; then
        echo "- GPU: $gpu"
    fi
    echo "- Software: torch $("$BENCH_PYTHON" -c 'import torch; print(torch.__version__)'), dassl-rs $(git -C "$DASSL_ROOT" rev-parse --short HEAD 2>/dev/null || echo '(no git)') release build"
}
