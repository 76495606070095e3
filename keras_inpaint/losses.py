"""Loss functions for adversarial inpainting, each a plain function of tensors.

Shapes: images (N, H, W, 3) in [-1, 1]; masks (N, H, W, 1) with 1 in the hole;
discriminator logits (N, h, w, 1) (a PatchGAN map, any h, w). Every function returns a
scalar float32 tensor (a mean over the batch), so that it can be weighted and summed.

Defaults of :class:`keras_inpaint.InpaintingGAN` and why:

* adversarial ``"non_saturating"`` with weight 10, R1 penalty gamma 0.001 and
  ``mask_as_fake_target=True`` (only hole patches of a generated image count as fake):
  LaMa's settings, tuned for FFC generators on Places2.
* feature matching, weight 100: LaMa's; it stabilises the generator early in training.
* L1 on known pixels weight 10 (LaMa) **and** on hole pixels weight 10 (not in LaMa).
  LaMa relies on a high-receptive-field perceptual network (ADE20k ResNet50) inside the
  hole; those weights cannot be downloaded here, so the default keeps a direct
  reconstruction signal in the hole. Pass ``perceptual_model=`` to add a perceptual term.
* SSIM in the hole (:func:`masked_ssim_loss`), weight 0 (off): LaMa has no such term. A
  reconstruction-heavy recipe for small CPU budgets turns it on to trade texture for the
  structure that PSNR/SSIM reward (L1 + SSIM mixes: Zhao et al., 2017).
* L1 on the hole's border band (:func:`boundary_l1`), weight 0 (off): the first few hole
  pixels next to known ones are where a small generator that works at 1/8 resolution
  loses most PSNR against smooth classical fills; the term gives them a signal of their own
  (what it did for ``lama_tiny`` is in ``model_cards/lama_tiny.md``).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

ADVERSARIAL_KINDS = ("non_saturating", "hinge", "least_squares")


def _float32(x):
    return ops.cast(x, "float32")


def masked_l1(y_true, y_pred, masks, hole_weight: float = 1.0, valid_weight: float = 1.0):
    """Per-pixel L1, weighted ``hole_weight`` in the hole and ``valid_weight`` elsewhere.

    Returns the mean over all pixels and channels of ``|y_true - y_pred| * weight``.
    """
    y_true, y_pred, masks = _float32(y_true), _float32(y_pred), _float32(masks)
    weights = hole_weight * masks + valid_weight * (1.0 - masks)
    return ops.mean(ops.abs(y_true - y_pred) * weights)


def region_l1(y_true, y_pred, masks, region: str = "hole"):
    """Mean absolute error over the pixels of one region (``"hole"`` or ``"valid"`` only).

    Unlike :func:`masked_l1` the mean is taken over that region's pixels alone, which is
    what a reader expects from "L1 in the hole". Returns 0 for an empty region.
    """
    y_true, y_pred, masks = _float32(y_true), _float32(y_pred), _float32(masks)
    if region == "valid":
        masks = 1.0 - masks
    elif region != "hole":
        raise ValueError(f"region must be 'hole' or 'valid'; got {region!r}.")
    channels = ops.cast(ops.shape(y_true)[-1], "float32")
    total = ops.sum(ops.abs(y_true - y_pred) * masks)
    return total / ops.maximum(ops.sum(masks) * channels, 1.0)


def boundary_band(masks, width: int = 4):
    """Hole pixels within ``width`` pixels (Chebyshev distance) of a known pixel.

    ``masks`` (N, H, W, 1), 1 in the hole. Returns a (N, H, W, 1) float32 0/1 map: 1 where
    the pixel is in the hole and a known pixel lies in the (2*width+1)² square around it.
    """
    if int(width) < 1:
        raise ValueError(f"boundary width must be at least 1 pixel; got {width}.")
    masks = _float32(masks)
    size = 2 * int(width) + 1
    near_known = ops.max_pool(1.0 - masks, pool_size=size, strides=1, padding="same")
    return near_known * masks


def boundary_l1(y_true, y_pred, masks, width: int = 4):
    """Mean absolute error over the hole's border band (:func:`boundary_band`) alone.

    Images (N, H, W, C) in any range, masks (N, H, W, 1) with 1 in the hole. Returns 0
    when no hole pixel is that close to a known one.
    """
    y_true, y_pred = _float32(y_true), _float32(y_pred)
    band = boundary_band(masks, width)
    channels = ops.cast(ops.shape(y_true)[-1], "float32")
    return ops.sum(ops.abs(y_true - y_pred) * band) / ops.maximum(ops.sum(band) * channels, 1.0)


def _gaussian_taps(sigma: float = 1.5, truncate: float = 3.5) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def _blur_matrix(size: int, taps: np.ndarray) -> np.ndarray:
    """(size, size) matrix applying ``taps`` along one axis with symmetric border padding."""
    radius = len(taps) // 2
    matrix = np.zeros((size, size), np.float32)
    for i in range(size):
        for k, tap in enumerate(taps):
            j = i + k - radius
            while not 0 <= j < size:  # symmetric padding: ... b a | a b c ... c b a | a b ...
                j = -j - 1 if j < 0 else 2 * size - j - 1
            matrix[i, j] += tap
    return matrix


def ssim_map(a, b, data_range: float = 1.0, sigma: float = 1.5):
    """Per-pixel, per-channel SSIM of (N, H, W, C) images: (N, H, W, C) float32, at most 1.

    The map of ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, full=True)`` (the metric of
    :mod:`keras_inpaint.evaluation`): Gaussian windows of 11 taps, symmetric padding at the
    borders, K1 = 0.01, K2 = 0.03. H and W must be static. The Gaussian blur is two
    products with banded (H, H) and (W, W) matrices rather than a depthwise convolution,
    whose forward and backward passes are much slower on a CPU under XLA.
    """
    a, b = _float32(a), _float32(b)
    height, width = a.shape[1], a.shape[2]
    if height is None or width is None:
        raise ValueError(f"ssim_map needs static image sizes; got shape {a.shape}.")
    taps = _gaussian_taps(sigma)
    rows = ops.convert_to_tensor(_blur_matrix(height, taps))
    cols = ops.convert_to_tensor(_blur_matrix(width, taps))

    def blur(x):
        return ops.einsum("jw,niwc->nijc", cols, ops.einsum("ih,nhwc->niwc", rows, x))

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))


def masked_ssim_loss(y_true, y_pred, masks):
    """``1 - SSIM`` of the composited result, counted in the hole only.

    ``y_pred`` is first composited into ``y_true`` (known pixels kept) so that windows
    straddling the hole border judge the picture the user gets. Returns the mean over all
    pixels and channels of ``(1 - ssim) * mask`` — the normalisation of :func:`masked_l1`,
    so that their weights compare. Images in [-1, 1].
    """
    y_true, y_pred, masks = _float32(y_true), _float32(y_pred), _float32(masks)
    composite = y_pred * masks + y_true * (1.0 - masks)
    similarity = ssim_map((y_true + 1.0) / 2.0, (composite + 1.0) / 2.0)
    return ops.mean((1.0 - similarity) * masks)


def _area_weights(in_size, out_size):
    """(out, in) matrix whose rows average the input cells each output cell covers."""
    in_f, out_f = ops.cast(in_size, "float32"), ops.cast(out_size, "float32")
    step = in_f / out_f
    starts = ops.cast(ops.arange(out_size), "float32")[:, None] * step
    cells = ops.cast(ops.arange(in_size), "float32")[None, :]
    overlap = ops.minimum(starts + step, cells + 1.0) - ops.maximum(starts, cells)
    return ops.maximum(overlap, 0.0) / step


def resize_mask_to(masks, logits):
    """Area-downsample (N, H, W, 1) masks to the spatial size of (N, h, w, C) logits.

    Each output value is the hole fraction of the input region it covers, in [0, 1]
    (like PyTorch's ``interpolate(mode="area")``), written with matrix products so that
    it compiles under XLA, which has no area-resize kernel.
    """
    masks = _float32(masks)
    in_shape, out_shape = ops.shape(masks), ops.shape(logits)
    rows = _area_weights(in_shape[1], out_shape[1])
    cols = _area_weights(in_shape[2], out_shape[2])
    return ops.einsum("ih,nhwc,jw->nijc", rows, masks, cols)


def generator_adversarial_loss(fake_logits, kind: str = "non_saturating"):
    """The generator's adversarial loss on the discriminator's logits for generated images.

    * ``non_saturating``: ``softplus(-D(G(z)))`` (Goodfellow et al., 2014, the classic form).
    * ``hinge``: ``-D(G(z))``.
    * ``least_squares``: ``(D(G(z)) - 1)^2``.
    """
    fake_logits = _float32(fake_logits)
    if kind == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))
    if kind == "hinge":
        return -ops.mean(fake_logits)
    if kind == "least_squares":
        return ops.mean(ops.square(fake_logits - 1.0))
    raise ValueError(f"unknown adversarial loss {kind!r}; choose one of {ADVERSARIAL_KINDS}.")


def discriminator_adversarial_loss(real_logits, fake_logits, kind: str = "non_saturating", fake_masks=None):
    """The discriminator's loss: real images should score high, generated ones low.

    Args:
        real_logits, fake_logits: (N, h, w, 1) discriminator outputs.
        kind: ``non_saturating`` (BCE on logits), ``hinge`` or ``least_squares``.
        fake_masks: optional (N, H, W, 1) hole masks. When given (LaMa's
            ``mask_as_fake_target``) only patches in the hole are labelled fake; known
            patches of the generated image are labelled real, because they are real pixels.
    """
    real_logits, fake_logits = _float32(real_logits), _float32(fake_logits)
    if kind == "non_saturating":
        real_term, fake_as_fake, fake_as_real = ops.softplus(-real_logits), ops.softplus(fake_logits), ops.softplus(-fake_logits)
    elif kind == "hinge":
        real_term, fake_as_fake, fake_as_real = ops.relu(1.0 - real_logits), ops.relu(1.0 + fake_logits), ops.relu(1.0 - fake_logits)
    elif kind == "least_squares":
        real_term, fake_as_fake, fake_as_real = ops.square(real_logits - 1.0), ops.square(fake_logits), ops.square(fake_logits - 1.0)
    else:
        raise ValueError(f"unknown adversarial loss {kind!r}; choose one of {ADVERSARIAL_KINDS}.")
    if fake_masks is None:
        fake_term = fake_as_fake
    else:
        weights = resize_mask_to(fake_masks, fake_logits)
        fake_term = weights * fake_as_fake + (1.0 - weights) * fake_as_real
    return ops.mean(real_term) + ops.mean(fake_term)


def r1_penalty(real_gradients):
    """R1 penalty (Mescheder et al., 2018): mean over the batch of ``||dD(x)/dx||^2``.

    ``real_gradients`` is the gradient of the summed real logits with respect to the real
    images, shape (N, H, W, C). Multiply by gamma (LaMa: 0.001) outside; as in LaMa
    there is no extra factor 1/2.
    """
    grads = _float32(real_gradients)
    return ops.mean(ops.sum(ops.reshape(ops.square(grads), (ops.shape(grads)[0], -1)), axis=1))


def feature_matching_loss(real_features, fake_features, masks=None):
    """Mean squared distance between discriminator features of real and generated images.

    Args:
        real_features, fake_features: lists of (N, h_i, w_i, C_i) tensors, one per layer.
        masks: optional (N, H, W, 1); when given only hole positions count (resized per layer).
    Returns the mean over layers of the per-layer mean squared error.
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError("feature_matching_loss needs two equally long, non-empty lists of features.")
    losses = []
    for real, fake in zip(real_features, fake_features):
        squared = ops.square(_float32(real) - _float32(fake))
        if masks is not None:
            squared = squared * resize_mask_to(masks, squared)
        losses.append(ops.mean(squared))
    return ops.mean(ops.stack(losses))


def perceptual_loss(feature_model: keras.Model, y_true, y_pred, preprocess=None):
    """L1 distance between a feature network's activations of two images in [-1, 1].

    ``feature_model`` maps images to one tensor or a list of tensors (e.g. a
    ``keras.applications.VGG19`` cut at a few layers, where its ImageNet weights can be
    downloaded). ``preprocess`` maps [-1, 1] images to what the network expects; by
    default images are passed as they are.
    """
    if preprocess is not None:
        y_true, y_pred = preprocess(y_true), preprocess(y_pred)
    true_features = feature_model(y_true, training=False)
    pred_features = feature_model(y_pred, training=False)
    if not isinstance(true_features, (list, tuple)):
        true_features, pred_features = [true_features], [pred_features]
    terms = [ops.mean(ops.abs(_float32(a) - _float32(b))) for a, b in zip(true_features, pred_features)]
    return ops.mean(ops.stack(terms))
