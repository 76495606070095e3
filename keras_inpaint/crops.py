"""Where to crop a photo around its holes (the ``crop`` HD strategy), in whole pixels.

A box is ``(y0, y1, x0, x1)``: rows ``y0 .. y1 - 1`` and columns ``x0 .. x1 - 1`` of the photo.

:func:`hole_boxes` finds the holes' bounding boxes without a full-size copy of the mask (it reads
a band of rows at a time into a coarse occupancy grid, labels the grid's connected cells, then
tightens each box to its hole pixels). :func:`crop_boxes` puts a box of context around each, by
MI-GAN's rule (:func:`context_box`), and merges boxes whose crops overlap until every crop is
disjoint from the others and holds its holes whole, so each crop can be inpainted alone.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Box = tuple[int, int, int, int]
# Side of the coarse grid's cells, in pixels: holes closer than this are one component.
CELL = 8


def _occupancy(hole_rows: Callable[[int, int], np.ndarray], height: int, width: int, cell: int) -> np.ndarray:
    """(ceil(H / cell), ceil(W / cell)) bool: which cells hold a hole pixel."""
    columns = np.arange(0, width, cell)
    grid = np.zeros(((height + cell - 1) // cell, len(columns)), bool)
    for row, start in enumerate(range(0, height, cell)):
        band = hole_rows(start, min(start + cell, height)).any(axis=0)
        grid[row] = np.logical_or.reduceat(band, columns)
    return grid


def hole_boxes(hole_rows: Callable[[int, int], np.ndarray], height: int, width: int, cell: int = CELL) -> list[Box]:
    """Bounding boxes of the hole's connected parts (8-connected at ``cell`` px: parts closer than
    about a cell count as one). ``hole_rows(y0, y1)`` returns the bool hole of rows y0..y1-1,
    shape (y1 - y0, W). Returns tight boxes, top to bottom; none when there is no hole."""
    from scipy import ndimage

    grid = _occupancy(hole_rows, height, width, cell)
    labels, _ = ndimage.label(grid, structure=np.ones((3, 3), bool))
    boxes = []
    for rows, cols in ndimage.find_objects(labels):
        y0, y1 = rows.start * cell, min(rows.stop * cell, height)
        x0, x1 = cols.start * cell, min(cols.stop * cell, width)
        hole = hole_rows(y0, y1)[:, x0:x1]
        ys, xs = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
        boxes.append((y0 + int(ys[0]), y0 + int(ys[-1]) + 1, x0 + int(xs[0]), x0 + int(xs[-1]) + 1))
    return boxes


def _axis(low: int, high: int, side: int, length: int) -> tuple[int, int]:
    """MI-GAN's placement on one axis: ``side`` pixels centred on hole pixels low..high-1
    (centre ``(first + last) // 2``), clipped to the photo, the clipped excess moved to the other end."""
    centre = (low + high - 1) // 2
    start, stop = max(centre - side // 2, 0), min(centre + side // 2, length)
    excess = max(side - (stop - start), 0)
    start, stop = max(start - excess, 0), min(stop + excess, length)
    return min(start, low), max(stop, high)  # never cut the hole (MI-GAN's rule can, for margins < 2)


def context_box(box: Box, shape: tuple[int, int], margin: int, square: bool = False, min_side: int = 0) -> Box:
    """The crop around hole box ``box`` in a photo of ``shape`` (H, W).

    Each side is the hole's span (last - first pixel) plus ``margin`` on both ends, at least
    ``min_side``, and with ``square`` the longer of the two for both. Placement is MI-GAN's
    (``scripts/create_onnx_pipeline.py``): centred on the hole, shifted inside the photo, and
    no larger than the photo. ``square=True, min_side=resolution, margin=padding`` is its crop.
    """
    y0, y1, x0, x1 = box
    sides = [y1 - 1 - y0 + 2 * margin, x1 - 1 - x0 + 2 * margin]
    if square:
        sides = [max(sides)] * 2
    sides = [max(s, min_side) for s in sides]
    top, bottom = _axis(y0, y1, sides[0], shape[0])
    left, right = _axis(x0, x1, sides[1], shape[1])
    return top, bottom, left, right


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes), max(b[3] for b in boxes))


def crop_boxes(holes: list[Box], shape: tuple[int, int], margin: int, square: bool = False,
               min_side: int = 0) -> list[tuple[Box, Box]]:
    """Disjoint crops covering ``holes``: [(crop box, the bounding box of the holes inside it)].

    Each group of holes gets :func:`context_box` around its union; groups whose crops overlap
    are merged and their crop recomputed, until no two crops overlap. Every hole pixel then lies
    in exactly one crop, with at least ``margin`` pixels of context where the photo has them.
    """
    groups = [[box] for box in holes]
    while True:
        crops = [context_box(_union(g), shape, margin, square, min_side) for g in groups]
        pair = next(((i, j) for i in range(len(crops)) for j in range(i + 1, len(crops))
                     if _overlap(crops[i], crops[j])), None)
        if pair is None:
            return [(crop, _union(g)) for crop, g in zip(crops, groups)]
        i, j = pair
        groups[i] = groups[i] + groups.pop(j)
