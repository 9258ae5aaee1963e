#!/usr/bin/env bash
# CLIP encoder throughput on CPU (issue 3 item 7): dassl-rs's Clip against OpenAI's
# CLIP (clip-anytorch) under PyTorch, on the same random weights, in one run.
# Models: tiny-vit (image batch 64 at its input resolution) and a random model of
# ViT-B/16's shape (image batch 8 at 224 px); text: 100 prompts "a photo of a ...".
# fp32, no_grad, THREADS intra-op threads on both sides; 2 warm-up iterations, then
# the median of N timed ones. Prints JSON lines and a table of ratios
# (dassl-rs / PyTorch throughput).
#
#   THREADS=2 TINY_ITERS=20 VITB_ITERS=3 scripts/bench/run_clip_bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
activate_toolchain
cd "$DASSL_ROOT"

THREADS="${THREADS:-2}"
TINY_ITERS="${TINY_ITERS:-20}"
VITB_ITERS="${VITB_ITERS:-3}"
WARMUP="${WARMUP:-2}"
WORK="${WORK:-/tmp/bench}"
mkdir -p "$WORK"

[ -x target/release/dassl ] || nice cargo build --release
[ -f "$WORK/tiny.safetensors" ] || nice target/release/dassl clip random tiny-vit --out "$WORK/tiny.safetensors"
[ -f "$WORK/vitb16.safetensors" ] || nice target/release/dassl clip random ViT-B/16 --out "$WORK/vitb16.safetensors"

say "building the bench program"
nice cargo build --release -p dassl-rs --example bench_clip --quiet
BIN="$DASSL_ROOT/target/release/examples/bench_clip"

say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
RESULTS="$WORK/clip_bench.jsonl"
: > "$RESULTS"
run_model() { # label weights image_batch iters
    local common=("$2" --label "$1" --image-batch "$3" --iters "$4" --warmup "$WARMUP" --threads "$THREADS")
    nice "$BIN" "${common[@]}" | tee -a "$RESULTS"
    nice "$DASSL_PYTHON" scripts/bench/bench_clip.py "${common[@]}" | tee -a "$RESULTS"
}
run_model tiny-vit "$WORK/tiny.safetensors" 64 "$TINY_ITERS"
run_model ViT-B/16 "$WORK/vitb16.safetensors" 8 "$VITB_ITERS"
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$DASSL_PYTHON" - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
r = {(x["model"], x["encoder"], x["side"]): x for x in rows}
print("| model | encoder | batch | dassl-rs /s | PyTorch /s | ratio (dassl-rs / PyTorch) |")
print("|---|---|---:|---:|---:|---:|")
for model in dict.fromkeys(x["model"] for x in rows):
    for enc in ("image", "text"):
        a, b = r[(model, enc, "dassl-rs")], r[(model, enc, "pytorch")]
        unit = "images" if enc == "image" else "texts"
        print(f"| {model} | {enc} | {a['batch']} | {a['per_s']:.2f} {unit} | {b['per_s']:.2f} {unit} | {a['per_s'] / b['per_s']:.2f}x |")
PY
