"""Side-by-side pictures (masked input / mask / result ...) for people to look at."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

LABEL_HEIGHT = 18


def show_hole(image: np.ndarray, mask: np.ndarray, colour=(255, 255, 255)) -> np.ndarray:
    """uint8 (H, W, 3) with the hole (mask 1) painted in ``colour``: what the model is given."""
    out = image.copy()
    out[np.asarray(mask).reshape(image.shape[:2]).astype(bool)] = colour
    return out


def mask_to_rgb(mask: np.ndarray) -> np.ndarray:
    """(H, W[, 1]) mask -> uint8 (H, W, 3), white hole on black."""
    m = (np.asarray(mask).reshape(mask.shape[:2]) > 0).astype(np.uint8) * 255
    return np.repeat(m[..., None], 3, axis=-1)


def grid(rows: Sequence[Sequence[np.ndarray]], labels: Sequence[str] | None = None, gap: int = 4) -> np.ndarray:
    """Tile uint8 (H, W, 3) panels into one uint8 image; ``labels`` head the columns."""
    height = max(p.shape[0] for row in rows for p in row)
    widths = [max(row[c].shape[1] for row in rows) for c in range(len(rows[0]))]
    top = LABEL_HEIGHT if labels else 0
    canvas = Image.new("RGB", (sum(widths) + gap * (len(widths) + 1), top + len(rows) * (height + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    for r, row in enumerate(rows):
        x = gap
        for c, panel in enumerate(row):
            canvas.paste(Image.fromarray(np.asarray(panel, np.uint8)), (x, top + gap + r * (height + gap)))
            if labels and r == 0:
                draw.text((x + 2, 3), labels[c], fill="black")
            x += widths[c] + gap
    return np.asarray(canvas)


def before_mask_after(image: np.ndarray, mask: np.ndarray, result: np.ndarray) -> np.ndarray:
    """The before / mask / after picture of one inpainting."""
    return grid([[show_hole(image, mask), mask_to_rgb(mask), result]], ["masked input", "mask", "inpainted"])
