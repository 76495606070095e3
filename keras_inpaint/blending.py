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


# Holes with more pixels than this are solved in two levels (see :func:`harmonic_correction`):
# the time and the memory of a direct sparse LU grow faster than the hole (README: timings).
EXACT_LIMIT = 250_000
# Width of the exact band along the seam, in pixels of the coarse level.
BAND_CELLS = 8


def _laplace_system(hole: np.ndarray, values: np.ndarray):
    """The 5-point Laplace equation on the ``hole`` pixels, Dirichlet ``values`` next to them.

    Pixels outside the image add no constraint (Neumann). Returns the sparse (n, n) matrix
    (CSC), the (n, C) right-hand side and the hole pixels' coordinates ``ys, xs``.
    """
    sparse, _ = _require_scipy()
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    count = len(ys)
    index = np.full(hole.shape, -1)
    index[ys, xs] = np.arange(count)
    diagonal = np.zeros(count)
    rhs = np.zeros((count, values.shape[-1]))
    rows, cols = [], []
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        diagonal += inside
        k, ny, nx = np.nonzero(inside)[0], ny[inside], nx[inside]
        in_hole = hole[ny, nx]
        rows.append(k[in_hole])
        cols.append(index[ny[in_hole], nx[in_hole]])
        np.add.at(rhs, k[~in_hole], values[ny[~in_hole], nx[~in_hole]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    laplacian = sparse.csc_matrix(
        (np.concatenate([diagonal, -np.ones(len(rows))]),
         (np.concatenate([np.arange(count), rows]), np.concatenate([np.arange(count), cols]))),
        shape=(count, count),
    )
    return laplacian, rhs, ys, xs


def _solve_on(hole: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out`` the harmonic function on ``hole`` that meets ``values`` next to it."""
    _, linalg = _require_scipy()
    laplacian, rhs, ys, xs = _laplace_system(hole, values)
    out[ys, xs] = linalg.splu(laplacian).solve(rhs)


def harmonic_correction(hole: np.ndarray, offset: np.ndarray, exact_limit: int = EXACT_LIMIT) -> np.ndarray:
    """The harmonic function on ``hole`` (H, W) that equals ``offset`` (H, W, C) next to it.

    Up to ``exact_limit`` hole pixels: one sparse LU solve. Larger holes, two levels: the
    problem is solved on a grid ``s`` times coarser (cells with any known pixel are known, at
    their known pixels' mean offset; ``s`` brings the coarse hole under the limit), enlarged
    bilinearly, and solved again exactly in the band of hole pixels within ``BAND_CELLS * s``
    of the known ones, with the coarse solution as the band's inner boundary. The seam, where
    the correction varies fastest, is therefore exact; deeper inside, where it is smooth,
    the coarse solution stands (its speed and its difference from the direct solve: README).

    Returns (H, W, C) float64: the correction in the hole, ``offset`` elsewhere.
    """
    result = np.where(hole[..., None], 0.0, offset)
    count = int(hole.sum())
    if count <= exact_limit:
        _solve_on(hole, offset, result)
        return result
    from scipy import ndimage

    s = int(np.ceil(np.sqrt(count / exact_limit)))
    height, width = hole.shape
    pad = ((0, -height % s), (0, -width % s))
    known = np.pad(~hole, pad).astype(np.float64)
    cells = (known.shape[0] // s, s, known.shape[1] // s, s)
    known_count = known.reshape(cells).sum(axis=(1, 3))
    offset_sum = np.pad(offset * known[: height, : width, None], pad + ((0, 0),)).reshape(*cells, -1).sum(axis=(1, 3))
    coarse_offset = offset_sum / np.maximum(known_count, 1.0)[..., None]
    coarse = harmonic_correction(known_count == 0, coarse_offset, exact_limit)
    smooth = ndimage.zoom(coarse, (s, s, 1), order=1, grid_mode=True, mode="nearest")[:height, :width]
    depth = ndimage.distance_transform_cdt(hole, metric="chessboard")  # pixels to the nearest known one
    band = hole & (depth <= BAND_CELLS * s)
    result[hole] = smooth[hole]
    _solve_on(band, np.where(hole[..., None], smooth, offset), result)
    return result


def poisson_blend(image: np.ndarray, fill: np.ndarray, mask: np.ndarray, exact_limit: int = EXACT_LIMIT) -> np.ndarray:
    """Blend one fill into one image.

    Args:
        image: (H, W, C) float, the photo; only its known pixels are read.
        fill: (H, W, C) float, the generated image; only its hole pixels are read.
        mask: (H, W) or (H, W, 1), 1/True in the hole.
        exact_limit: holes of more pixels are solved in two levels (:func:`harmonic_correction`).

    Returns:
        (H, W, C) float64: ``fill`` plus the harmonic correction in the hole, ``image`` elsewhere.
        Values are not clipped. A mask with no hole, or with no known pixel at all, returns the
        plain composite (nothing to blend against).
    """
    hole = np.asarray(mask).reshape(image.shape[:2]).astype(bool)
    # (to NumPy first: a JAX array asked for float64 without x64 enabled warns and gives float32)
    image = np.asarray(image).astype(np.float64)
    fill = np.asarray(fill).astype(np.float64)
    if not hole.any() or hole.all():
        return np.where(hole[..., None], fill, image)
    # The wanted correction is read on the known side of the seam.
    correction = harmonic_correction(hole, image - fill, exact_limit)
    return np.where(hole[..., None], fill + correction, image)


def blend_batch(images: np.ndarray, fills: np.ndarray, masks: np.ndarray, method: str) -> np.ndarray:
    """Apply ``method`` (one of :data:`BLENDS`) to (N, H, W, C) images and fills, (N, H, W, 1) masks."""
    if method not in BLENDS:
        raise ValueError(f"unknown blend {method!r}; choose one of {BLENDS} or None.")
    return np.stack([poisson_blend(i, f, m) for i, f, m in zip(images, fills, masks)]).astype(np.float32)
