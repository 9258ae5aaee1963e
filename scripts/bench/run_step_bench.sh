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
# for this run's section of results/benchmarks.md, so runs over other shapes keep theirs). Writes
# $WORK/step_bench.jsonl and $WORK/step_bench.md.
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
measure() { # label weights args... : both sides, one process each
    local label="$1" w="$2"
    shift 2
    local common=("$w" --label "$label" --device "$DEVICE" --prec "$PREC" --iters "$ITERS"
        --warmup "$WARMUP" --threads "$THREADS" "$@")
    sampled nice "$BIN" "${common[@]}" | tee -a "$RESULTS"
    sampled nice "$PY" scripts/bench/bench_step.py "${common[@]}" | tee -a "$RESULTS"
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
    measure "$BIG_MODEL" "$(random_weights "$BIG_MODEL")" --trainer CoOp --classes "$BIG" --batch "$BATCH" --position end
fi
if [ -n "$COCOOP" ]; then
    measure "$COCOOP_MODEL" "$(random_weights "$COCOOP_MODEL")" --trainer CoCoOp --classes 100 --batch 1
fi
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$RESULTS" "$WORK/step_bench_table.md" <<'PY'
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
out = ["| trainer | model | classes | batch | prompt | dassl-rs s/step | PyTorch s/step | speed-up | peak memory dassl-rs | peak memory PyTorch |",
       "|---|---|---:|---:|---|---:|---:|---:|---|---|"]
for k, p in pairs.items():
    if "dassl-rs" not in p or "pytorch" not in p:
        continue
    a, b = p["dassl-rs"], p["pytorch"]
    prompt = "image-conditioned, end" if k[0] == "CoCoOp" else (k[4] + (", CSC" if k[5] else ", generic"))
    out.append(f"| {k[0]} | {k[1]} (random) | {k[2]} | {k[3]} | {prompt} | {a['median_s']:.3f} | {b['median_s']:.3f} | {b['median_s'] / a['median_s']:.1f}x | {mem(a)} | {mem(b)} |")
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
    echo "$ITERS timed steps after $WARMUP untimed, each configuration in its own process per side."
    echo "Peak memory: the process's peak resident set (VmHWM / ru_maxrss; both processes hold"
    echo "libtorch) and, on CUDA, the GPU memory in use above the idle level (nvidia-smi)."
    echo
    machine_lines
    echo "- Load average before/after: $load_before / $load_after"
    echo "- Command: \`${PART:+PART=\"$PART\" }DEVICE=$DEVICE PREC=$PREC BATCH=$BATCH ITERS=$ITERS WARMUP=$WARMUP THREADS=$THREADS MODELS=\"$MODELS\" POSITIONS=\"$POSITIONS\" CSC=$CSC BIG=$BIG COCOOP=$COCOOP COCOOP_MODEL=$COCOOP_MODEL scripts/bench/run_step_bench.sh\`"
    echo "- Measured: $(date +%Y-%m-%d)"
    echo
    cat "$WORK/step_bench_table.md"
} >"$WORK/step_bench.md"
if [ "${RECORD:-1}" = 1 ]; then "$PY" scripts/bench/record.py results/benchmarks.md "$WORK/step_bench.md"; fi
