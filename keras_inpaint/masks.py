"""Random hole masks for training and evaluation, seeded and reproducible.

Two families of generators:

* **LaMa-style** (Suvorov et al., 2022): irregular strokes drawn as random walks of
  straight segments (random angle, length and brush width) mixed with random boxes.
  The named settings ``thin``, ``medium`` and ``thick`` use the parameters of LaMa's
  evaluation masks at 256 px; at other sizes every length scales with the image
  (``size / 256``), so 512 is twice the 256 numbers, as in LaMa's 512 settings.
* **DeepFill v2-style** free-form masks (Yu et al., 2019): a few strokes of 4-12
  vertices with round joints and a thick brush.

Every mask is a float32 (H, W) array with 1 in the hole and 0 elsewhere. A mask never
covers more than ``max_hole_ratio`` (default 0.5) of the image and is never empty: a
draw outside those bounds is thrown away and drawn again from the same generator.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

REFERENCE_SIZE = 256


@dataclasses.dataclass(frozen=True)
class StrokeParams:
    """Irregular strokes: ``min_times..max_times`` random walks of 1-5 segments.

    Each segment has an angle ``0.01 + randint(max_angle)`` radians, a length
    ``10 + randint(max_len)`` and a brush width ``5 + randint(max_width)`` pixels (at 256 px).
    """

    min_times: int
    max_times: int
    max_len: int
    max_width: int
    max_angle: int = 4


@dataclasses.dataclass(frozen=True)
class BoxParams:
    """``min_times..max_times`` axis-aligned boxes with sides in [min_size, max_size] px."""

    min_times: int
    max_times: int
    min_size: int
    max_size: int
    margin: int = 0


@dataclasses.dataclass(frozen=True)
class MaskSetting:
    """A named mask distribution, defined at ``REFERENCE_SIZE`` and scaled to other sizes."""

    strokes: StrokeParams | None = None
    boxes: BoxParams | None = None
    box_probability: float = 0.0
    deepfill: bool = False
    max_hole_ratio: float = 0.5


#: LaMa's evaluation settings (``random_{thin,medium,thick}_256``) and DeepFill v2's free-form.
MASK_SETTINGS: dict[str, MaskSetting] = {
    "thin": MaskSetting(strokes=StrokeParams(min_times=4, max_times=50, max_len=40, max_width=10)),
    "medium": MaskSetting(
        strokes=StrokeParams(min_times=4, max_times=5, max_len=100, max_width=50),
        boxes=BoxParams(min_times=1, max_times=5, min_size=10, max_size=50, margin=0),
        box_probability=0.3,
    ),
    "thick": MaskSetting(
        strokes=StrokeParams(min_times=1, max_times=5, max_len=200, max_width=100),
        boxes=BoxParams(min_times=1, max_times=3, min_size=30, max_size=150, margin=10),
        box_probability=0.5,
    ),
    "deepfill": MaskSetting(deepfill=True),
}
#: ``mixed`` draws one of thin / medium / thick per mask: the default for training.
MIXED = ("thin", "medium", "thick")


def _draw_segment(mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], width: float):
    """Set to 1 every pixel within ``width / 2`` of the segment p0-p1 (points as (y, x))."""
    h, w = mask.shape
    radius = max(width / 2.0, 0.5)
    y0, x0 = p0
    y1, x1 = p1
    top = max(int(math.floor(min(y0, y1) - radius)), 0)
    bottom = min(int(math.ceil(max(y0, y1) + radius)) + 1, h)
    left = max(int(math.floor(min(x0, x1) - radius)), 0)
    right = min(int(math.ceil(max(x0, x1) + radius)) + 1, w)
    if top >= bottom or left >= right:
        return
    ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32)
    dy, dx = y1 - y0, x1 - x0
    length_sq = dy * dy + dx * dx
    if length_sq == 0:
        t = np.zeros_like(ys)
    else:
        t = np.clip(((ys - y0) * dy + (xs - x0) * dx) / length_sq, 0.0, 1.0)
    dist_sq = (ys - (y0 + t * dy)) ** 2 + (xs - (x0 + t * dx)) ** 2
    region = mask[top:bottom, left:right]
    region[dist_sq <= radius * radius] = 1.0


def _draw_strokes(mask: np.ndarray, params: StrokeParams, scale: float, rng: np.random.Generator):
    h, w = mask.shape
    max_len = max(int(round(params.max_len * scale)), 1)
    max_width = max(int(round(params.max_width * scale)), 1)
    for stroke in range(rng.integers(params.min_times, params.max_times + 1)):
        y, x = float(rng.integers(h)), float(rng.integers(w))
        for _ in range(1 + rng.integers(5)):
            angle = 0.01 + rng.integers(params.max_angle)
            if stroke % 2 == 0:
                angle = 2 * math.pi - angle
            length = 10 * scale + rng.integers(max_len)
            width = 5 * scale + rng.integers(max_width)
            ny = float(np.clip(y + length * math.cos(angle), 0, h - 1))
            nx = float(np.clip(x + length * math.sin(angle), 0, w - 1))
            _draw_segment(mask, (y, x), (ny, nx), width)
            y, x = ny, nx


def _draw_boxes(mask: np.ndarray, params: BoxParams, scale: float, rng: np.random.Generator):
    h, w = mask.shape
    margin = int(round(params.margin * scale))
    min_size = max(int(round(params.min_size * scale)), 1)
    max_size = max(int(round(params.max_size * scale)), min_size)
    for _ in range(rng.integers(params.min_times, params.max_times + 1)):
        box_h = min(int(rng.integers(min_size, max_size + 1)), max(h - 2 * margin, 1))
        box_w = min(int(rng.integers(min_size, max_size + 1)), max(w - 2 * margin, 1))
        top = int(rng.integers(margin, max(h - margin - box_h, margin) + 1))
        left = int(rng.integers(margin, max(w - margin - box_w, margin) + 1))
        mask[top : top + box_h, left : left + box_w] = 1.0


def _draw_deepfill(mask: np.ndarray, scale: float, rng: np.random.Generator):
    """DeepFill v2's free-form strokes: 1-4 strokes, 4-12 vertices, brush 12-40 px at 256."""
    h, w = mask.shape
    mean_angle, angle_range = 2 * math.pi / 5, 2 * math.pi / 15
    average_radius = math.sqrt(h * h + w * w) / 8
    for _ in range(rng.integers(1, 5)):
        vertices = int(rng.integers(4, 13))
        width = float(rng.integers(int(12 * scale), int(40 * scale) + 1))
        angle_min, angle_max = mean_angle - rng.uniform(0, angle_range), mean_angle + rng.uniform(0, angle_range)
        points = [(float(rng.integers(h)), float(rng.integers(w)))]
        for i in range(vertices):
            angle = rng.uniform(angle_min, angle_max)
            if i % 2 == 0:
                angle = 2 * math.pi - angle
            radius = float(np.clip(rng.normal(average_radius, average_radius / 2), 0, 2 * average_radius))
            y, x = points[-1]
            points.append(
                (float(np.clip(y + radius * math.sin(angle), 0, h - 1)), float(np.clip(x + radius * math.cos(angle), 0, w - 1)))
            )
        for p0, p1 in zip(points[:-1], points[1:]):
            _draw_segment(mask, p0, p1, width)
    if rng.random() > 0.5:
        mask[:] = mask[:, ::-1]
    if rng.random() > 0.5:
        mask[:] = mask[::-1, :]


def _resolve_setting(setting: str | MaskSetting, rng: np.random.Generator) -> MaskSetting:
    if isinstance(setting, MaskSetting):
        return setting
    if setting == "mixed":
        setting = MIXED[int(rng.integers(len(MIXED)))]
    if setting not in MASK_SETTINGS:
        names = ", ".join(sorted([*MASK_SETTINGS, "mixed"]))
        raise ValueError(f"unknown mask setting {setting!r}; choose one of: {names}.")
    return MASK_SETTINGS[setting]


def random_mask(
    height: int,
    width: int | None = None,
    setting: str | MaskSetting = "medium",
    seed: int | np.random.Generator | None = None,
    max_attempts: int = 100,
) -> np.ndarray:
    """Draw one random hole mask.

    Args:
        height, width: mask size in pixels (``width`` defaults to ``height``).
        setting: ``"thin"``, ``"medium"``, ``"thick"``, ``"deepfill"``, ``"mixed"`` or a
            ``MaskSetting``.
        seed: an int (reproducible), a ``numpy.random.Generator``, or ``None``.
        max_attempts: how many draws to try before giving up on the hole-ratio bounds.

    Returns:
        float32 array (height, width) with 1 in the hole, 0 elsewhere; hole ratio in
        (0, ``max_hole_ratio``].
    """
    width = height if width is None else width
    if height < 1 or width < 1:
        raise ValueError(f"mask size must be positive; got {height}x{width}.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    scale = min(height, width) / REFERENCE_SIZE
    for _ in range(max_attempts):
        chosen = _resolve_setting(setting, rng)
        mask = np.zeros((height, width), np.float32)
        if chosen.deepfill:
            _draw_deepfill(mask, scale, rng)
        if chosen.strokes is not None:
            _draw_strokes(mask, chosen.strokes, scale, rng)
        if chosen.boxes is not None and rng.random() < chosen.box_probability:
            _draw_boxes(mask, chosen.boxes, scale, rng)
        ratio = float(mask.mean())
        if 0.0 < ratio <= chosen.max_hole_ratio:
            return mask
    raise RuntimeError(
        f"could not draw a {height}x{width} mask for setting {setting!r} with a hole ratio in "
        f"(0, {chosen.max_hole_ratio}] in {max_attempts} attempts."
    )


def random_masks(
    count: int,
    height: int,
    width: int | None = None,
    setting: str | MaskSetting = "medium",
    seed: int | None = None,
) -> np.ndarray:
    """Draw ``count`` masks as float32 (count, height, width, 1); same seed, same masks."""
    rng = np.random.default_rng(seed)
    return np.stack([random_mask(height, width, setting, rng) for _ in range(count)])[..., None]


def hole_ratios(masks: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Fraction of hole pixels of each mask in a (N, H, W[, 1]) stack."""
    stack = np.asarray(masks, np.float32)
    return stack.reshape(stack.shape[0], -1).mean(axis=1)
