"""Poisson blending of a generated fill into the photo (Pérez et al., SIGGRAPH 2003).

Pasting a fill into a hole leaves a seam wherever the fill's colour at the hole's edge differs
from the known pixels beside it. Poisson blending keeps the fill's gradients and takes the
boundary values from the photo: it solves ``Δf = Δfill`` in the hole with ``f = photo`` on the
known pixels next to it. Equivalently it adds to the fill the harmonic function that equals
``photo - fill`` on that border, so the correction is largest at the seam and fades inside.
Iizuka et al. (SIGGRAPH 2017) post-process their GAN completions the same way.
"""

from __future__ import annotations

import numpy as np

BLENDS = ("poisson",)


def _require_scipy():
    try:
        import scipy.sparse
        import scipy.sparse.linalg
    except ImportError as e:  # pragma: no cover - scipy is a dependency
        raise ImportError("Poisson blending needs scipy: pip install scipy") from e
    return scipy.sparse, scipy.sparse.linalg


def poisson_blend(image: np.ndarray, fill: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend one fill into one image.

    Args:
        image: (H, W, C) float, the photo; only its known pixels are read.
        fill: (H, W, C) float, the generated image; only its hole pixels are read.
        mask: (H, W) or (H, W, 1), 1/True in the hole.

    Returns:
        (H, W, C) float64: ``fill`` plus the harmonic correction in the hole, ``image`` elsewhere.
        Values are not clipped. A mask with no hole, or with no known pixel at all, returns the
        plain composite (nothing to blend against).
    """
    sparse, linalg = _require_scipy()
    hole = np.asarray(mask).reshape(image.shape[:2]).astype(bool)
    image = np.asarray(image, np.float64)
    fill = np.asarray(fill, np.float64)
    result = np.where(hole[..., None], fill, image)
    if not hole.any() or hole.all():
        return result
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    count = len(ys)
    index = np.full(hole.shape, -1)
    index[ys, xs] = np.arange(count)
    offset = image - fill  # wanted correction, read on the known side of the seam
    diagonal = np.zeros(count)
    rhs = np.zeros((count, image.shape[-1]))
    rows, cols = [], []
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)  # outside: no constraint (Neumann)
        diagonal += inside
        k, ny, nx = np.nonzero(inside)[0], ny[inside], nx[inside]
        in_hole = hole[ny, nx]
        rows.append(k[in_hole])
        cols.append(index[ny[in_hole], nx[in_hole]])
        np.add.at(rhs, k[~in_hole], offset[ny[~in_hole], nx[~in_hole]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    laplacian = sparse.csc_matrix(
        (np.concatenate([diagonal, -np.ones(len(rows))]),
         (np.concatenate([np.arange(count), rows]), np.concatenate([np.arange(count), cols]))),
        shape=(count, count),
    )
    solve = linalg.factorized(laplacian)
    for channel in range(image.shape[-1]):
        result[ys, xs, channel] += solve(rhs[:, channel])
    return result


def blend_batch(images: np.ndarray, fills: np.ndarray, masks: np.ndarray, method: str) -> np.ndarray:
    """Apply ``method`` (one of :data:`BLENDS`) to (N, H, W, C) images and fills, (N, H, W, 1) masks."""
    if method not in BLENDS:
        raise ValueError(f"unknown blend {method!r}; choose one of {BLENDS} or None.")
    return np.stack([poisson_blend(i, f, m) for i, f, m in zip(images, fills, masks)]).astype(np.float32)
