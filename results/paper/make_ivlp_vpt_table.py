"""Writes ``ivlp_vpt_base2new.csv``: IVLP's and VPT's published base-to-new averages, from
the MaPLe README's model zoo.

    python make_ivlp_vpt_table.py <multimodal-prompt-learning clone>

with muzairkhattak/multimodal-prompt-learning at 69bce21ae8eda80ad6187534b2dce09cf6c59e17.
Its table "Vision-Language prompting methods" (ViT-B/16, 16 shots, average over 11 datasets)
names each row by its config file; the rows run with the configs that `dassl run` sweeps
by default (IVLP: vit_b16_c2_ep5_batch4_2+2ctx, VPT: vit_b16_c2_ep5_batch4_4) are kept, as
printed. "Deep Language Prompting" (IVLP's language-only config) is left out: a sweep labels
its runs IVLP as well, and the two would collide.
"""

import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = {
    "configs/trainers/IVLP/vit_b16_c2_ep5_batch4_2+2ctx.yaml": "IVLP",
    "configs/trainers/VPT/vit_b16_c2_ep5_batch4_4.yaml": "VPT",
}


def rows(readme):
    found = {}
    with open(readme) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            link = re.search(r"\]\(([^)]+)\)", cells[0]) if cells else None
            if link and link.group(1) in ROWS and len(cells) >= 4:
                base, new, hm = (re.sub(r"[*]", "", c) for c in cells[1:4])
                found[ROWS[link.group(1)]] = [ROWS[link.group(1)], "ViT-B/16", "Average", base, new, hm,
                                              "MaPLe-README-zoo"]
    missing = set(ROWS.values()) - set(found)
    if missing:
        raise SystemExit(f"no rows for {sorted(missing)} in {readme}")
    return [found[m] for m in sorted(found)]


def main():
    with open(os.path.join(HERE, "ivlp_vpt_base2new.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["method", "backbone", "dataset", "base", "new", "harmonic", "source"])
        w.writerows(rows(os.path.join(sys.argv[1], "README.md")))


if __name__ == "__main__":
    main()
