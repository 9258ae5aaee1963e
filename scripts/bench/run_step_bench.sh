#!/usr/bin/env bash
# One prompt-learning training step (forward, backward, SGD), dassl-rs against Python
# CoOp's CustomCLIP (scripts/bench/bench_step.py) on the same random weights, in one run
# (issue 13): CoOp at 100 classes with the class token at the end, middle and front and
# with class-specific contexts (CSC), on random models of RN50's and ViT-B/16's shape; one
# CoOp point at 1000 classes; CoCoOp at batch 1, 100 classes, with peak memory. Each
# measurement is its own process (so peak memory is per configuration); steps are timed
# after WARMUP untimed ones, the median of ITERS.
#
#   DEVICE=cpu BATCH=8 ITERS=1 WARMUP=1 scripts/bench/run_step_bench.sh
#
# DEVICE cpu|cuda; PREC fp32 (dassl-rs's text shortcuts are fp32-only, docs/SPEED.md);
# MODELS "RN50 ViT-B/16"; POSITIONS "end middle front"; CSC 1 (the CSC point, "" to
# skip); BIG=1000 (the large class count, "" to skip); BIG_MODEL RN50; COCOOP 1 ("" to
# skip); THREADS (CPU intra-op threads, both sides); WORK (scratch folder); PART (a name
# for this run's section of results/benchmarks.md, so runs over other shapes keep theirs);
# OMP_POLICY (OMP_WAIT_POLICY for both sides: PASSIVE, what scripts/dassl sets, or
# "default" to leave it unset: on a loaded machine OpenMP's spinning slows many small ops
# several times, issue 15); BIG_MEM_GB (an address-space limit, ulimit -v, for both sides
# of the BIG point, so a side that does not fit fails with "out of memory" instead of
# pushing the machine into swap or the OOM killer). Both sides also report CPU seconds
# per step, which other load moves less than wall time. Writes $WORK/step_bench.jsonl and
# $WORK/step_bench.md.
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

DEVICE="${DEVICE:-cpu}"
PREC="${PREC:-fp32}"
BATCH="${BATCH:-32}"
ITERS="${ITERS:-3}"
WARMUP="${WARMUP:-1}"
THREADS="${THREADS:-$(nproc)}"
MODELS="${MODELS:-RN50 ViT-B/16}"
BIG="${BIG-1000}"
POSITIONS="${POSITIONS:-end middle front}"
CSC="${CSC-1}"
COCOOP="${COCOOP-1}"
BIG_MODEL="${BIG_MODEL:-RN50}"
BIG_MEM_GB="${BIG_MEM_GB:-}"
OMP_POLICY="${OMP_POLICY:-PASSIVE}"
COCOOP_MODEL="${COCOOP_MODEL:-ViT-B/16}"
BIN="${BENCH_STEP_BIN:-$DASSL_ROOT/target/release/examples/bench_step}"

if [ -z "${BENCH_STEP_BIN:-}" ]; then
    say "building the bench program"
    nice cargo build --release -p dassl-trainers --example bench_step --quiet
    fi

RESULTS="$WORK/step_bench.jsonl"
: > "$RESULTS"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
# On CUDA, the peak of the GPU's used memory above what was in use before the command
# (nvidia-smi, sampled every 0.2 s) is added to the command's JSON line as gpu_mb: the same
# measure for both sides (CUDA context and caching allocator included).
gpu_used() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 | head -1; }
sampled() {
    if [ "$DEVICE" != cuda ] || ! command -v nvidia-smi >/dev/null; then "$@"; return; fi
    local out base peak=0 m pid
    out="$(mktemp)"
    base="$(gpu_used)"
    "$@" >"$out" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        m="$(gpu_used)"
        [ "$((m - base))" -gt "$peak" ] && peak="$((m - base))"
        sleep 0.2
    done
    wait "$pid"
    sed "s/}\$/,\"gpu_mb\":$peak}/" "$out"
    rm -f "$out"
}
# The command under the run's OpenMP wait policy and, when MEM_KB is set, an address-space
# limit (not niced: the measurement is the point).
policed() {
    local envs=(env -u OMP_WAIT_POLICY)
    [ "$OMP_POLICY" = default ] || envs=(env OMP_WAIT_POLICY="$OMP_POLICY")
    if [ -n "${MEM_KB:-}" ]; then
        (ulimit -v "$MEM_KB" && exec "${envs[@]}" "$@")
    else
        "${envs[@]}" "$@"
    fi
}
measure() { # label weights args... : both sides, one process each
    local label="$1" w="$2"
    shift 2
    local common=("$w" --label "$label" --device "$DEVICE" --prec "$PREC" --iters "$ITERS"
        --warmup "$WARMUP" --threads "$THREADS" "$@")
    # A side that fails leaves no JSON line; the run goes on (the table says so).
    sampled policed "$BIN" "${common[@]}" | tee -a "$RESULTS" || say "dassl-rs failed: $*"
    sampled policed "$PY" scripts/bench/bench_step.py "${common[@]}" | tee -a "$RESULTS" \
        || say "PyTorch failed: $*"
}
for model in $MODELS; do
    w="$(random_weights "$model")"
    for position in $POSITIONS; do
        measure "$model" "$w" --trainer CoOp --classes 100 --batch "$BATCH" --position "$position"
    done
    if [ -n "$CSC" ]; then
        measure "$model" "$w" --trainer CoOp --classes 100 --batch "$BATCH" --position end --csc
    fi
done
if [ -n "$BIG" ]; then
    MEM_KB="${BIG_MEM_GB:+$((BIG_MEM_GB * 1024 * 1024))}" \
        measure "$BIG_MODEL" "$(random_weights "$BIG_MODEL")" --trainer CoOp --classes "$BIG" --batch "$BATCH" --position end
fi
if [ -n "$COCOOP" ]; then
    measure "$COCOOP_MODEL" "$(random_weights "$COCOOP_MODEL")" --trainer CoCoOp --classes 100 --batch 1
fi
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$RESULTS" "$WORK/step_bench_table.md" "$BIG_MEM_GB" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
key = lambda r: (r["trainer"], r["model"], r["classes"], r["batch"], r["position"], r["csc"])
pairs = {}
for r in rows:
    pairs.setdefault(key(r), {})[r["side"]] = r
def mem(r):
    s = f"{r['peak_rss_mb']:.0f} MB RSS"
    if "cuda_peak_allocated_mb" in r:
        s += f", {r['cuda_peak_allocated_mb']:.0f} MB CUDA allocated"
    if "gpu_mb" in r:
        s += f", {r['gpu_mb']:.0f} MB GPU (nvidia-smi)"
    return s
def secs(r, field):
    if r is None:
        return "failed (see the run's log)"
    if r.get("error"):
        limit = f" under a {sys.argv[3]} GB address-space limit" if sys.argv[3] else ""
        return f"{r['error']}{limit}"
    return f"{r[field]:.3f}"
def ratio(a, b, field):
    if a is None or b is None or a.get("error") or b.get("error"):
        return "-"
    return f"{b[field] / a[field]:.1f}x"
def goal(k, a, b):
    # Issue 13's goals, on the wall-time speed-up: CoOp end with a generic context at 100
    # classes at least 3x, its other positions and CSC at least 2x, CoCoOp at least 2x.
    if k[2] != 100:
        return "none set"
    want = 3.0 if (k[0], k[4], k[5]) == ("CoOp", "end", False) else 2.0
    if a is None or b is None or a.get("error") or b.get("error"):
        return f">= {want:.0f}x: not measured"
    return f">= {want:.0f}x: " + ("met" if b["median_s"] / a["median_s"] >= want else "MISSED")
out = ["| trainer | model | classes | batch | prompt | dassl-rs s/step | PyTorch s/step | speed-up | goal | CPU s/step dassl-rs / PyTorch | speed-up in CPU time | peak memory dassl-rs | peak memory PyTorch |",
       "|---|---|---:|---:|---|---:|---:|---:|---|---:|---:|---|---|"]
for k, p in pairs.items():
    a, b = p.get("dassl-rs"), p.get("pytorch")
    prompt = "image-conditioned, end" if k[0] == "CoCoOp" else (k[4] + (", CSC" if k[5] else ", generic"))
    cpu = " / ".join("-" if r is None or r.get("error") else f"{r['cpu_s']:.3f}" for r in (a, b))
    out.append(f"| {k[0]} | {k[1]} (random) | {k[2]} | {k[3]} | {prompt} | {secs(a, 'median_s')} | {secs(b, 'median_s')} | {ratio(a, b, 'median_s')} | {goal(k, a, b)} | {cpu} | {ratio(a, b, 'cpu_s')} | {mem(a) if a else '-'} | {mem(b) if b else '-'} |")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
{
    echo "## Prompt learning: one training step${PART:+, $PART} (issue 13, $DEVICE)"
    echo
    echo "One training step (forward, backward, SGD) of dassl-rs's CoOp and CoCoOp"
    echo "(\`trainers/examples/bench_step.rs\`, the trainers' own code) against CoOp's \`CustomCLIP\`"
    echo "re-implemented from trainers/coop.py and cocoop.py on OpenAI's CLIP"
    echo "(\`scripts/bench/bench_step.py\`), on the same random weights (\`dassl clip random\`),"
    echo "random images, class names \"class 0\" .. \"class N-1\", N_CTX 16, PREC $PREC; median of"
    echo "$ITERS timed steps after $WARMUP untimed, each configuration in its own process per side,"
    echo "both sides with OMP_WAIT_POLICY ${OMP_POLICY/default/unset} and $THREADS intra-op threads. Wall seconds"
    echo "give the speed-up; CPU seconds (user + system, all threads) are less moved by other load."
    echo "Peak memory: the process's peak resident set (VmHWM / ru_maxrss; both processes hold"
    echo "libtorch) and, on CUDA, the GPU memory in use above the idle level (nvidia-smi)."
    echo
    machine_lines
    echo "- Load average before/after: $load_before / $load_after"
    echo "- Command: \`${PART:+PART=\"$PART\" }DEVICE=$DEVICE PREC=$PREC BATCH=$BATCH ITERS=$ITERS WARMUP=$WARMUP THREADS=$THREADS OMP_POLICY=$OMP_POLICY MODELS=\"$MODELS\" POSITIONS=\"$POSITIONS\" CSC=$CSC BIG=$BIG BIG_MODEL=$BIG_MODEL${BIG_MEM_GB:+ BIG_MEM_GB=$BIG_MEM_GB} COCOOP=$COCOOP COCOOP_MODEL=$COCOOP_MODEL scripts/bench/run_step_bench.sh\`"
    echo "- Measured: $(date +%Y-%m-%d)"
    echo
    cat "$WORK/step_bench_table.md"
} >"$WORK/step_bench.md"
if [ "${RECORD:-1}" = 1 ]; then "$PY" scripts/bench/record.py results/benchmarks.md "$WORK/step_bench.md"; fi
