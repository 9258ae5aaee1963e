"""Writes ``promptsrc_base2new.csv``: PromptSRC's published base-to-new average, from its README.

    python make_promptsrc_table.py <PromptSRC clone>

with muzairkhattak/PromptSRC at bb95c77b634d63488f2cad81ff4a72d53bdd06d5. Its table
"PromptSRC in comparison with existing state-of-the-art" (ViT-B/16, 16 shots, 11 datasets,
3 seeds) prints only averages; the PromptSRC row is kept, as printed. Its other rows are
left out (see SOURCES.md).
"""

import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def promptsrc_row(readme):
    with open(readme) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[0].startswith("[PromptSRC (ours)]"):
                base, new, hm = (re.sub(r"[*]", "", c) for c in cells[1:4])
                return ["PromptSRC", "ViT-B/16", "Average", base, new, hm, "PromptSRC-README"]
    raise SystemExit(f"no PromptSRC row in {readme}")


def main():
    with open(os.path.join(HERE, "promptsrc_base2new.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["method", "backbone", "dataset", "base", "new", "harmonic", "source"])
        w.writerow(promptsrc_row(os.path.join(sys.argv[1], "README.md")))


if __name__ == "__main__":
    main()
