"""Writes the published numbers of the newer baselines (issue 12) from their authors' repositories.

    python make_family_tables.py <Tip-Adapter clone> <KgCoOp clone>

with gaopengcuhk/Tip-Adapter at d0e2d6f8c5feb8b6ce937b757810761f7155d4d5 and htyao89/KgCoOp at
c43ccc32c8739f64b165cfa205fcc6c0f5bb5b17 (`dassl`'s fetch tool or git clone). Writes, next to
this script:

- ``tip_adapter_fewshot.csv``: Tip-Adapter, Tip-Adapter-F and CLIP-Adapter, RN50, 1/2/4/8/16
  shots on the 11 datasets, from the authors' ``exp.log`` (their runs of all three methods;
  the zero-shot lines there use Tip-Adapter's prompts and are left out, as ZeroshotCLIP's
  published numbers are CoOp's).
- ``kgcoop_base2new.csv``: KgCoOp's base-to-new average (ViT-B/16, 16 shots), the only
  KgCoOp row its README prints (its per-dataset table is in the paper, not the repository).

Values are copied as printed; method and dataset names are mapped to the registry's.
"""

import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = {
    "imagenet": "ImageNet", "caltech101": "Caltech101", "oxford_pets": "OxfordPets",
    "stanford_cars": "StanfordCars", "oxford_flowers": "OxfordFlowers", "food101": "Food101",
    "fgvc": "FGVCAircraft", "sun397": "SUN397", "dtd": "DescribableTextures",
    "eurosat": "EuroSAT", "ucf101": "UCF101",
}
METHODS = {"Tip": "Tip-Adapter", "Tip-F": "Tip-Adapter-F", "CLIP-A": "CLIP_Adapter"}


def tip_rows(path):
    rows, dataset, shots = [], None, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            m = re.match(r"^(\w+): [\d.]+$", line)
            if m:
                dataset = DATASETS[m.group(1)]
            elif line and line.split()[0].isdigit():
                shots = [int(s) for s in line.split()]
            elif line and line.split()[0] in METHODS:
                name, *values = line.split()
                assert len(values) == len(shots), line
                for s, v in zip(shots, values):
                    rows.append([METHODS[name], "RN50", dataset, s, v, "TipA-explog"])
    assert len(rows) == 3 * 5 * 11, len(rows)
    return sorted(rows, key=lambda r: (list(METHODS.values()).index(r[0]),
                                       list(DATASETS.values()).index(r[2]), r[3]))


def kgcoop_rows(path):
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0] == "KgCoOp":
                return [["KgCoOp", "ViT-B/16", "Average", cells[2], cells[3], cells[4],
                         "KgCoOp-README"]]
    raise SystemExit(f"no KgCoOp row in {path}")


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    tip, kg = sys.argv[1], sys.argv[2]
    write("tip_adapter_fewshot.csv", ["method", "backbone", "dataset", "shots", "accuracy", "source"],
          tip_rows(os.path.join(tip, "exp.log")))
    write("kgcoop_base2new.csv", ["method", "backbone", "dataset", "base", "new", "harmonic", "source"],
          kgcoop_rows(os.path.join(kg, "readme.md")))


if __name__ == "__main__":
    main()
