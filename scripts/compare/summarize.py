"""Summarises scripts/compare/base2new_vs_python.sh: per side the mean and sample std of the
base, new and harmonic-mean accuracies over seeds, and for each the Rust - Python difference
with a two-sided permutation p-value (20,000 relabellings, fixed seed: deterministic).

    python scripts/compare/summarize.py OUT [results/coop_vs_python_base2new.md]
"""
import csv
import random
import statistics
import sys
from datetime import date


def read(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(f)]
    out = {"base": [], "new": [], "H": []}
    for r in rows:
        b, n = float(r["base"]), float(r["new"])
        out["base"].append(b)
        out["new"].append(n)
        out["H"].append(2 * b * n / (b + n) if b + n else 0.0)
    return out


def perm_p(a, b, rounds=20000):
    rng = random.Random(0)
    obs = abs(statistics.mean(a) - statistics.mean(b))
    pool = a + b
    hits = 0
    for _ in range(rounds):
        rng.shuffle(pool)
        if abs(statistics.mean(pool[: len(a)]) - statistics.mean(pool[len(a):])) >= obs - 1e-12:
            hits += 1
    return (hits + 1) / (rounds + 1)


def main():
    out = sys.argv[1]
    dest = sys.argv[2] if len(sys.argv) > 2 else None
    rs, py = read(f"{out}/rust.csv"), read(f"{out}/python.csv")
    lines = [
        "| metric | dassl-rs mean ± std (n) | CoOp (Python) mean ± std (n) | difference | permutation p |",
        "|---|---|---|---|---|",
    ]
    for m in ("base", "new", "H"):
        a, b = rs[m], py[m]
        fmt = lambda v: f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f} ({len(v)})"
        lines.append(
            f"| {m} | {fmt(a)} | {fmt(b)} | {statistics.mean(a) - statistics.mean(b):+.2f} | {perm_p(a, b):.3f} |"
        )
    table = "\n".join(lines)
    print(table)
    if dest:
        with open(dest, "w") as f:
            f.write(f"# CoOp base-to-new: dassl-rs against CoOp's own train.py\n\n")
            f.write(f"Written by `python scripts/compare/summarize.py {out} {dest}` on {date.today()}\n")
            f.write("from the accuracies that `scripts/compare/base2new_vs_python.sh` recorded.\n\n")
            f.write(table + "\n")


main()
