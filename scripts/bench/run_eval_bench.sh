#!/usr/bin/env bash
# Evaluation of a 1000-image split (issue 13): CoOp's own train.py --eval-only (Python,
# scripts/compare/python_coop.py) against `dassl train --eval-only`, first with an empty
# feature cache, then repeated (the image features come from the cache). Whole-process
# wall time, as a user waits for it: startup, model build, data, encoders, metrics.
# Data: a toy dataset of 10 classes x 334 images at the model's resolution (CoOp's
# 50/20/30 split leaves 1000 test images); weights: random of MODEL's shape; the context:
# a 1-epoch, 1-shot dassl-rs run that both sides load (--model-dir, --load-epoch 1).
#
#   COOP_DIR=... DASSL_DIR=... PYTHONPATH=... scripts/bench/run_eval_bench.sh
#
# MODEL RN50; DEVICE cpu|cuda; PREC fp32; WORKERS 2 (DATALOADER.NUM_WORKERS, both sides);
# WORK. Writes $WORK/eval_bench.md.
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

MODEL="${MODEL:-RN50}"
DEVICE="${DEVICE:-cpu}"
PREC="${PREC:-fp32}"
WORKERS="${WORKERS:-2}"

weights="$(random_weights "$MODEL")"
res="$("$DASSL" clip info "$weights" | sed -n 's/^image resolution: //p')"
data="$WORK/eval_data_$res"
if [ ! -f "$data/toy_shapes/split_zhou_ToyShapes.json" ]; then
    "$DASSL" data make-toy --root "$data" --classes 10 --images-per-class 334 --image-size "$res" >&2
fi
use_cuda=False
[ "$DEVICE" = cuda ] && use_cuda=True
common=(--root "$data" --trainer CoOp --eval-only DATASET.NAME ToyShapes
    MODEL.BACKBONE.NAME "$weights" INPUT.SIZE "($res, $res)" TRAINER.COOP.PREC "$PREC"
    DATALOADER.NUM_WORKERS "$WORKERS" USE_CUDA "$use_cuda")
cfg="configs/trainers/CoOp/rn50.yaml"
# --eval-only needs a trained run (dassl train validates it): one epoch at one shot, once.
model_dir="$WORK/eval_model_$MODEL"
if [ ! -f "$model_dir/prompt_learner/model.pth.tar-1" ]; then
    rm -rf "$model_dir"
    DASSL_FEATURE_CACHE=off "$DASSL" train --config-file "$cfg" --output-dir "$model_dir" \
        --root "$data" --trainer CoOp DATASET.NAME ToyShapes DATASET.NUM_SHOTS 1 OPTIM.MAX_EPOCH 1 \
        MODEL.BACKBONE.NAME "$weights" INPUT.SIZE "($res, $res)" TRAINER.COOP.PREC "$PREC" \
        USE_CUDA "$use_cuda" >"$WORK/eval_model.log" 2>&1
fi
common=(--model-dir "$model_dir" --load-epoch 1 "${common[@]}")
cache="$WORK/eval_feature_cache"
rm -rf "$cache" "$WORK"/eval_out_*
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
first="$(timed first "$WORK/eval_first.log" env DASSL_FEATURE_CACHE="$cache" \
    nice "$DASSL" train --config-file "$cfg" --output-dir "$WORK/eval_out_first" "${common[@]}")"
again="$(timed again "$WORK/eval_again.log" env DASSL_FEATURE_CACHE="$cache" \
    nice "$DASSL" train --config-file "$cfg" --output-dir "$WORK/eval_out_again" "${common[@]}")"
python="skipped (set COOP_DIR, DASSL_DIR and PYTHONPATH for CoOp's train.py)"
if python_coop_ready; then
    python="$(timed python "$WORK/eval_python.log" nice "$PY" scripts/compare/python_coop.py \
        --config-file "$COOP_DIR/configs/trainers/CoOp/rn50.yaml" --output-dir "$WORK/eval_out_python" "${common[@]}")"
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
images="$(sed -n 's/^\* total: \([0-9,]*\)/\1/p' "$WORK/eval_out_first/log.txt" | tail -1)"
acc() { sed -n 's/^\* accuracy: \([0-9.]*\)%/\1/p' "$1" | tail -1; }
ratio() { awk -v p="$1" -v r="$2" 'BEGIN { if (p + 0 > 0) printf "%.1fx", p / r; else print "-" }'; }
{
    echo "## Evaluation with the feature cache (issue 13, $DEVICE)"
    echo
    echo "Evaluating CoOp on a $images-image test split (toy images at ${res} px, random weights of"
    echo "$MODEL's shape, a context trained for one epoch at one shot and loaded by both sides): CoOp's own"
    echo "\`train.py --eval-only\` (scripts/compare/python_coop.py) against \`dassl train --eval-only\`"
    echo "with an empty feature cache, then repeated, when the image features come from the"
    echo "cache and the text features are computed once. Whole-process wall time."
    echo
    machine_lines
    echo "- Load average before/after: $load_before / $load_after"
    echo "- Command: \`MODEL=$MODEL DEVICE=$DEVICE PREC=$PREC WORKERS=$WORKERS scripts/bench/run_eval_bench.sh\`"
    echo "- Measured: $(date +%Y-%m-%d)"
    echo
    echo "| run | split | wall seconds | accuracy | Python CoOp / this |"
    echo "|---|---:|---:|---:|---:|"
    if python_coop_ready; then
        echo "| Python CoOp train.py --eval-only | $images | $python | $(acc "$WORK/eval_out_python/log.txt")% | 1.0x |"
    else
        echo "| Python CoOp train.py --eval-only | $images | $python | - | - |"
    fi
    echo "| dassl train --eval-only, empty feature cache | $images | $first | $(acc "$WORK/eval_out_first/log.txt")% | $(ratio "$python" "$first") |"
    echo "| dassl train --eval-only, repeated (features from the cache) | $images | $again | $(acc "$WORK/eval_out_again/log.txt")% | $(ratio "$python" "$again") |"
} | tee "$WORK/eval_bench.md"
if [ "${RECORD:-1}" = 1 ]; then "$PY" scripts/bench/record.py results/benchmarks.md "$WORK/eval_bench.md"; fi
