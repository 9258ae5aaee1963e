"""CoOp's data order, seed for seed: every batch's training loss of dassl-rs against CoOp's
own train.py, when an epoch has several batches (so the order inside and across epochs
shows in the losses).

    COOP_DIR=... DASSL_DIR=... PYTHONPATH=<yacs, tabulate, ...> \
        python scripts/compare/data_order.py [--before OLD_DASSL_BIN] [--world W] [--out DIR]

Runs ToyShapes (of --world, default the toy world of `dassl data toy-world`), 4 shots,
batch 4, seed 1, class token at the end, CTX_INIT "a photo of a" (so nothing but the data
order is drawn), PREC fp32, 4 epochs, normalisation only (no random transform, so the
order is the only randomness), once with TEST.FINAL_MODEL last_step and once with best_val
(an evaluation pass on val after every epoch, which draws from torch's generator too). Each
with python_coop.py (CoOp's train.py), DASSL_BIN (default target/release/dassl) and, with
--before, an older dassl binary. Writes results/fidelity/data_order.md (atomically); runs
go to --out (default compare_output/data_order). Every run has a deadline (RUN_TIMEOUT
seconds, default 900).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

from toy_compare import TIMEOUT, toy_world, write_atomically

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 1
SHOTS = 4
BATCH = 4
EPOCHS = 4
FINAL_MODELS = ["last_step", "best_val"]
TOL = 1e-2


def run(cmd, out_dir, world, root, final_model):
    """Every batch's loss (as the log prints it, 4 decimals) and the final accuracy."""
    shutil.rmtree(out_dir, ignore_errors=True)  # a finished run there would be resumed, not rerun
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    args = cmd + [
        "--root", root, "--seed", str(SEED), "--trainer", "CoOp",
        "--config-file", os.path.join(ROOT, "configs/trainers/CoOp/vit_b16_ctxv1.yaml"),
        "--output-dir", out_dir,
        "DATASET.NAME", "ToyShapes", "DATASET.NUM_SHOTS", str(SHOTS),
        "MODEL.BACKBONE.NAME", world, "INPUT.SIZE", "(32, 32)",
        "INPUT.TRANSFORMS", "['normalize']", "OPTIM.LR", "0.02",
        "OPTIM.MAX_EPOCH", str(EPOCHS), "DATALOADER.NUM_WORKERS", "0",
        "DATALOADER.TRAIN_X.BATCH_SIZE", str(BATCH), "TRAIN.PRINT_FREQ", "1",
        "TEST.FINAL_MODEL", final_model,
        "TRAINER.COOP.PREC", "fp32", "TRAINER.COOP.N_CTX", "4",
        "TRAINER.COOP.CTX_INIT", "a_photo_of_a", "TRAINER.COOP.CLASS_TOKEN_POSITION", "end",
    ]
    t = time.time()
    p = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(args)}\n{p.stderr[-3000:]}")
    log = open(os.path.join(out_dir, "log.txt")).read()
    losses = re.findall(r"batch \[\d+/\d+\].*? loss ([0-9.]+) \(", log)
    acc = re.findall(r"^\* accuracy: ([0-9.]+)%", log, re.M)
    print(f"  {out_dir}: {time.time() - t:.0f} s", file=sys.stderr)
    return losses, (acc[-1] if acc else "?")


def agreement(ours, theirs):
    """'k of n' batches whose loss is CoOp's within TOL (relative), and the largest gap.

    Not bit-equality: on the same data the two sides' losses differ in the 4th digit (the
    CTX_INIT control of results/fidelity/random_ctx.md shows it), while a batch of other
    images is off by far more than TOL."""
    gaps = [abs(float(a) - float(b)) / max(abs(float(b)), 1e-8) for a, b in zip(ours, theirs)]
    same = sum(g <= TOL for g in gaps)
    n = max(len(ours), len(theirs))
    return f"{same} of {n}, largest gap {100 * max(gaps):.2f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="a dassl binary without the fix, for the 'before' columns")
    ap.add_argument("--world", help="toy CLIP weights (a toy world's toy_clip.safetensors); "
                                    "default: the toy world `dassl data toy-world` builds or finds")
    ap.add_argument("--out", default=os.path.join(ROOT, "compare_output", "data_order"))
    ap.add_argument("--md", default=os.path.join(ROOT, "results", "fidelity", "data_order.md"))
    a = ap.parse_args()
    dassl = os.environ.get("DASSL_BIN", os.path.join(ROOT, "target", "release", "dassl"))
    world, root = ((a.world, os.path.join(os.path.dirname(a.world), "data")) if a.world
                   else toy_world(dassl))
    key = os.path.basename(os.path.dirname(world))
    python = os.environ.get("DASSL_PYTHON", sys.executable)
    sides = [("dassl-rs", "rust", [dassl, "train"])]
    if a.before:
        sides.insert(0, ("dassl-rs before", "before", [a.before, "train"]))
    lines = [
        "# CoOp's data order, seed for seed",
        "",
        "Written by `scripts/compare/data_order.py` (do not edit). ToyShapes of toy world "
        f"`{key}`, {SHOTS} shots, batch {BATCH}, seed {SEED}, {EPOCHS} epochs, CTX_INIT \"a "
        "photo of a\", PREC fp32, normalisation only: the data order is the only thing drawn "
        f"while training. For each side, how many batches' losses (as the log prints them) "
        f"are CoOp's train.py's within {100 * TOL:g}% (relative), the largest relative gap, "
        "and the final test accuracy. torch's DataLoader "
        "draws a base seed from the global generator at every pass and RandomSampler one more "
        "for its permutation; dassl-rs makes the same draws (`dassl_rs::data::torch_order`)"
        + (f"; 'before' is `{a.before}`, shuffling with its own generator." if a.before else "."),
        "",
        "| TEST.FINAL_MODEL | CoOp (train.py) accuracy (%) | "
        + " | ".join(f"{name}: batches matching CoOp's, accuracy (%)" for name, _, _ in sides)
        + " |",
        "|---|---:|" + "---|" * len(sides),
    ]
    for final_model in FINAL_MODELS:
        theirs, acc = run([python, os.path.join(ROOT, "scripts/compare/python_coop.py")],
                          os.path.join(a.out, key, "python", final_model), world, root,
                          final_model)
        cells = []
        for _, tag, cmd in sides:
            ours, our_acc = run(cmd, os.path.join(a.out, key, tag, final_model), world, root,
                                final_model)
            cells.append(f"{agreement(ours, theirs)}, {our_acc}")
        lines.append(f"| {final_model} | {acc} | " + " | ".join(cells) + " |")
    write_atomically(a.md, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
