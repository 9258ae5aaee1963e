"""Writes ``maple_base2new.csv``: MaPLe's published base-to-new average, from its README.

    python make_maple_table.py <multimodal-prompt-learning clone>

with muzairkhattak/multimodal-prompt-learning at 69bce21ae8eda80ad6187534b2dce09cf6c59e17.
The README's results table ("MaPLe in comparison with existing methods": ViT-B/16, 16
shots, 11 datasets, 3 seeds) prints only the average; its per-dataset table is in the paper
(CVPR 2023, Table 3), not the repository. Values are copied as printed.
"""

import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def maple_row(readme):
    with open(readme) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0].startswith("[MaPLe (ours)]"):
                base, new, hm = (re.sub(r"[*]", "", c) for c in cells[1:4])
                return ["MaPLe", "ViT-B/16", "Average", base, new, hm, "MaPLe-README"]
    raise SystemExit(f"no MaPLe row in {readme}")


def main():
    with open(os.path.join(HERE, "maple_base2new.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["method", "backbone", "dataset", "base", "new", "harmonic", "source"])
        w.writerow(maple_row(os.path.join(sys.argv[1], "README.md")))


if __name__ == "__main__":
    main()
