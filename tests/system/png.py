"""Pixels of the PNGs Chromium writes (8-bit RGB or RGBA, not interlaced), read
with the standard library alone: tests check a screenshot's colours and
where they are, not only the DOM."""

import struct
import zlib
from collections import Counter
from pathlib import Path

from harness import TestFailure


class Image:
    """An RGB image: `rows[y]` is the bytes of row y, three per pixel (alpha dropped)."""

    def __init__(self, width, height, rows):
        self.width = width
        self.height = height
        self.rows = rows

    def pixel(self, x, y):
        return tuple(self.rows[y][3 * x:3 * x + 3])

    def counts(self):
        """Counter {(r, g, b): pixels}."""
        counts = Counter()
        for row in self.rows:
            counts.update(zip(row[0::3], row[1::3], row[2::3]))
        return counts

    def colours(self):
        return set(self.counts())

    def columns(self, first, last):
        """Counter of the colours in columns first..last-1 (negative: from the right edge)."""
        first, last = first % self.width, last % self.width or self.width
        counts = Counter()
        for row in self.rows:
            part = row[3 * first:3 * last]
            counts.update(zip(part[0::3], part[1::3], part[2::3]))
        return counts

    def runs(self, colour, length):
        """Rows holding a horizontal run of at least `length` pixels of `colour`: [(y, x of its start)]."""
        needle = bytes(colour) * length
        found = []
        for y, row in enumerate(self.rows):
            at = row.find(needle)
            while at >= 0 and at % 3:  # a match must start on a pixel
                at = row.find(needle, at + 1)
            if at >= 0:
                found.append((y, at // 3))
        return found


def unfilter(kind, line, previous, channels):
    """Undoes one scanline's PNG filter in place."""
    if kind == 0:
        return
    if kind == 2:
        for i, up in enumerate(previous):
            line[i] = (line[i] + up) & 0xFF
        return
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
            continue
        up = previous[i]
        if kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            corner = previous[i - channels] if i >= channels else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        else:
            raise TestFailure(f"PNG filter type {kind} is not one of 0-4")


def read(path):
    """The image in the PNG at `path`."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise TestFailure(f"{path} is not a PNG")
    offset, chunks = 8, []
    width = height = colour_type = depth = interlace = 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise TestFailure(f"{path}: depth {depth}, colour type {colour_type}, interlace {interlace}: only 8-bit "
                          "RGB or RGBA without interlace is read here")
    raw = zlib.decompress(b"".join(chunks))
    channels = 4 if colour_type == 6 else 3
    stride = width * channels
    rows, previous, position = [], bytearray(stride), 0
    for _ in range(height):
        kind = raw[position]
        line = bytearray(raw[position + 1:position + 1 + stride])
        position += 1 + stride
        unfilter(kind, line, previous, channels)
        if channels == 4:
            rgb = bytearray(3 * width)
            rgb[0::3], rgb[1::3], rgb[2::3] = line[0::4], line[1::4], line[2::4]
            rows.append(bytes(rgb))
        else:
            rows.append(bytes(line))
        previous = line
    return Image(width, height, rows)


def colours(path):
    """The set of RGB colours in the PNG at `path`."""
    return read(path).colours()
