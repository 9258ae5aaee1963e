"""What the toy-world comparisons of dassl-rs against CoOp's train.py share: finding the
toy world, running one side with a deadline, and writing their results file atomically."""
import os
import re
import subprocess

TIMEOUT = int(os.environ.get("RUN_TIMEOUT", "900"))


def toy_world(dassl):
    """(toy CLIP weights, data root) of the toy world `dassl data toy-world` builds or finds."""
    out = subprocess.run([dassl, "data", "toy-world"], capture_output=True, text=True,
                         timeout=TIMEOUT, check=True).stdout
    world = re.search(r"^toy CLIP weights: (.*)$", out, re.M).group(1).strip()
    return world, os.path.join(os.path.dirname(world), "data")


def write_atomically(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
