"""Writes DejaVuSans-plot.ttf: DejaVu Sans (Debian's fonts-dejavu-core) cut down to the
characters report figures draw (printable ASCII and a few symbols), so the plots render
the same text on every machine without a system font. Deterministic: no timestamps are
rewritten. Run: python dassl-rs/assets/fonts/make_font.py
"""
import os.path as osp

from fontTools import subset
from fontTools.ttLib import TTFont

SRC = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OUT = osp.join(osp.dirname(osp.abspath(__file__)), "DejaVuSans-plot.ttf")
CHARS = [chr(c) for c in range(0x20, 0x7F)] + list("±†–—→×°µ·")

font = TTFont(SRC, recalcTimestamp=False)
opts = subset.Options()
opts.layout_features = ["kern"]
opts.name_IDs = ["*"]
opts.notdef_outline = True
opts.hinting = False
sub = subset.Subsetter(options=opts)
sub.populate(text="".join(CHARS))
sub.subset(font)
font.save(OUT)
print(OUT, osp.getsize(OUT))
