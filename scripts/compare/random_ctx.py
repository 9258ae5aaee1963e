"""CoOp with a random context, dassl-rs against CoOp's own train.py, same seed: the first
training loss and the test accuracy, next to the same runs with CTX_INIT as the control.

    COOP_DIR=... DASSL_DIR=... PYTHONPATH=<yacs, tabulate, ...> \
        python scripts/compare/random_ctx.py [--before OLD_DASSL_BIN] [--world W]... [--out DIR]

Runs ToyShapes (of each --world, default the toy world of `dassl data toy-world`), 2 shots, seed 2, class token at
the end, N_CTX 16 with CTX_INIT "" (random) or CTX_INIT "a photo of a", PREC fp32 and fp16,
each with python_coop.py (CoOp's train.py), DASSL_BIN (default target/release/dassl) and,
with --before, an older dassl binary (the numbers before a fix). Writes
results/fidelity/random_ctx.md (atomically); runs go to --out (default
compare_output/random_ctx). Every run has a deadline (RUN_TIMEOUT seconds, default 900).
"""
import argparse
import os
import re
import subprocess
import sys
import time

from toy_compare import TIMEOUT, toy_world, write_atomically

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 2
SHOTS = 2
EPOCHS = 10
INITS = [("random", '""'), ("a photo of a", "a_photo_of_a")]
PRECS = ["fp32", "fp16"]
LATER_EPOCH = 5


def run(cmd, out_dir, world, root, prec, init):
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    args = cmd + [
        "--root", root, "--seed", str(SEED), "--trainer", "CoOp",
        "--config-file", os.path.join(ROOT, "configs/trainers/CoOp/vit_b16_ctxv1.yaml"),
        "--output-dir", out_dir,
        "DATASET.NAME", "ToyShapes", "DATASET.NUM_SHOTS", str(SHOTS),
        "MODEL.BACKBONE.NAME", world, "INPUT.SIZE", "(32, 32)",
        "INPUT.TRANSFORMS", "['normalize']", "OPTIM.LR", "0.02",
        "OPTIM.MAX_EPOCH", str(EPOCHS), "DATALOADER.NUM_WORKERS", "0",
        "TRAINER.COOP.PREC", prec, "TRAINER.COOP.N_CTX", "16",
        "TRAINER.COOP.CTX_INIT", init, "TRAINER.COOP.CLASS_TOKEN_POSITION", "end",
    ]
    t = time.time()
    p = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(args)}\n{p.stderr[-3000:]}")
    log = open(os.path.join(out_dir, "log.txt")).read()
    losses = re.findall(r"batch \[1/\d+\].*? loss ([0-9.]+) \(", log)
    acc = re.findall(r"^\* accuracy: ([0-9.]+)%", log, re.M)
    print(f"  {out_dir}: {time.time() - t:.0f} s", file=sys.stderr)
    at = lambda e: losses[e - 1] if len(losses) >= e else "?"  # noqa: E731
    return at(1), at(LATER_EPOCH), (acc[-1] if acc else "?")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="a dassl binary without the fix, for the 'before' columns")
    ap.add_argument("--world", action="append",
                    help="toy CLIP weights (a toy world's toy_clip.safetensors; repeatable); "
                         "default: the toy world `dassl data toy-world` builds or finds")
    ap.add_argument("--out", default=os.path.join(ROOT, "compare_output", "random_ctx"))
    ap.add_argument("--md", default=os.path.join(ROOT, "results", "fidelity", "random_ctx.md"))
    a = ap.parse_args()
    dassl = os.environ.get("DASSL_BIN", os.path.join(ROOT, "target", "release", "dassl"))
    worlds = [(w, os.path.join(os.path.dirname(w), "data")) for w in a.world or []]
    worlds = worlds or [toy_world(dassl)]
    python = os.environ.get("DASSL_PYTHON", sys.executable)
    sides = [("CoOp (train.py)", "python",
              [python, os.path.join(ROOT, "scripts/compare/python_coop.py")]),
             ("dassl-rs", "rust", [dassl, "train"])]
    if a.before:
        sides.insert(1, ("dassl-rs before", "before", [a.before, "train"]))
    head = " | ".join(f"{name}: first loss, epoch {LATER_EPOCH}, accuracy (%)"
                      for name, _, _ in sides)
    lines = [
        "# CoOp's random context, seed for seed",
        "",
        "Written by `scripts/compare/random_ctx.py` (do not edit). ToyShapes of a toy world, "
        f"{SHOTS} shots, seed {SEED}, N_CTX 16, class token at the end, {EPOCHS} epochs, "
        "normalisation only, SGD lr 0.02; the first batch's loss, the loss at epoch "
        f"{LATER_EPOCH} (one batch per epoch) and the final test accuracy. CoOp draws its "
        "random context after `clip.build_model` has constructed CLIP; dassl-rs replays that "
        "construction's draws (`dassl_rs::clip::init_replay`)"
        + (f"; 'before' is `{a.before}`, drawing straight after the seed." if a.before else "."),
    ]
    for world, root in worlds:
        key = os.path.basename(os.path.dirname(world))
        lines += ["", f"Toy world `{key}`:", "",
                  f"| context | PREC | {head} |", "|---|---|" + "---|" * len(sides)]
        for init_name, init in INITS:
            for prec in PRECS:
                slug = f"{prec}_{'random' if init_name == 'random' else 'ctxinit'}"
                cells = [run(cmd, os.path.join(a.out, key, tag, slug), world, root, prec, init)
                         for _, tag, cmd in sides]
                lines.append(f"| {init_name} | {prec} | "
                             + " | ".join(", ".join(c) for c in cells) + " |")
    write_atomically(a.md, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
