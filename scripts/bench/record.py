"""Puts a benchmark section into results/benchmarks.md: replaces the section with the same
`## ` heading (up to the next `## ` heading) or appends it. The section file is what a
bench script wrote; nothing measured is typed by hand.

Usage: record.py results/benchmarks.md SECTION.md
"""
import os
import re
import sys

path, section = sys.argv[1], open(sys.argv[2]).read().rstrip("\n") + "\n"
heading = section.splitlines()[0]
if not heading.startswith("## "):
    sys.exit(f"{sys.argv[2]} must start with a '## ' heading")
head = "# Benchmarks\n\nPerformance measurements of dassl-rs against the Python originals.\n"
text = open(path).read() if os.path.exists(path) else head
pat = re.compile(r"^" + re.escape(heading) + r"\n.*?(?=^## |\Z)", re.S | re.M)
if pat.search(text):
    text = pat.sub(lambda m: section + ("\n" if m.group(0).endswith("\n\n") else ""), text, count=1)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
print(f"recorded {heading[3:]} in {path}")
