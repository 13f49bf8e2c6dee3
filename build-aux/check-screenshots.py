#!/usr/bin/env python3
# The metainfo's screenshots are the ones kept in data/screenshots/ (taken
# by the end-to-end app test): each one there, a PNG no larger than the
# 1000×700 that app stores show whole, its size as stated, with a caption.
# Usage: check-screenshots.py METAINFO SCREENSHOT_DIR
import os
import struct
import sys
import xml.etree.ElementTree as ET

MAX_WIDTH, MAX_HEIGHT = 1000, 700


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", head[16:24])


def main():
    metainfo, folder = sys.argv[1], sys.argv[2]
    problems = []
    shots = ET.parse(metainfo).getroot().findall("./screenshots/screenshot")
    if not shots:
        problems.append("no screenshots")
    if sum(1 for s in shots if s.get("type") == "default") != 1:
        problems.append("exactly one screenshot must be the default")
    for shot in shots:
        image = shot.find("image")
        caption = shot.find("caption")
        if caption is None or not (caption.text or "").strip():
            problems.append("a screenshot without a caption")
        if image is None or not image.text:
            problems.append("a screenshot without an image")
            continue
        name = image.text.strip().rsplit("/", 1)[-1]
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            problems.append(f"{name} is not in {folder}")
            continue
        try:
            width, height = png_size(path)
        except ValueError as error:
            problems.append(f"{name}: {error}")
            continue
        if width > MAX_WIDTH or height > MAX_HEIGHT:
            problems.append(f"{name} is {width}×{height}, over {MAX_WIDTH}×{MAX_HEIGHT}")
        if (image.get("width"), image.get("height")) != (str(width), str(height)):
            problems.append(f"{name} is {width}×{height}, the metainfo says {image.get('width')}×{image.get('height')}")
    for problem in problems:
        print(f"{metainfo}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
