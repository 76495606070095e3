"""``tf.data`` pipelines of (image, mask) batches from a folder of the user's photos."""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_inpaint.errors import DataError, InpaintInputError
from keras_inpaint.image_io import read_image_uint8
from keras_inpaint.masks import MaskSetting, random_mask

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
# Reading lives in keras_inpaint.image_io; the old name stays for callers of keras_inpaint.data.
load_rgb = read_image_uint8
#: What reading a damaged, truncated or mislabelled image file raises (image_io's InpaintInputError
#: is a ValueError).
UNREADABLE_ERRORS = (OSError, ValueError)


def list_images(directory: str) -> list[str]:
    """All image files (jpg/jpeg/png/webp/bmp/tif/tiff, any case) under ``directory``, recursively, sorted.

    ``FileNotFoundError`` if ``directory`` is not a folder, :class:`~keras_inpaint.errors.DataError` if it holds none.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"image directory {directory!r} does not exist or is not a directory.")
    paths = []
    for root, _, files in os.walk(directory):
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                paths.append(os.path.join(root, name))
    paths.sort()
    if not paths:
        raise DataError(
            f"no images found in {directory!r} (looked recursively for {', '.join(IMAGE_EXTENSIONS)})."
        )
    return paths


def _load_or_flag(path: bytes) -> tuple[np.ndarray, bool]:
    try:
        return read_image_uint8(path.decode()), True
    except InpaintInputError as e:  # names the file and the problem
        warnings.warn(f"{e} (skipped)", stacklevel=2)
        return np.zeros((1, 1, 3), np.uint8), False


def _random_crop(image, image_size: int, seed):
    """Random scale (the short side between ``image_size`` and the original), crop and flip."""
    shape = tf.shape(image)
    short = tf.cast(tf.minimum(shape[0], shape[1]), tf.float32)
    target = tf.cast(image_size, tf.float32)
    low = tf.minimum(target / short, 1.0)
    scale = tf.maximum(tf.random.stateless_uniform((), seed, low, 1.0), target / short)
    new_size = tf.cast(tf.math.ceil(tf.cast(shape[:2], tf.float32) * scale), tf.int32)
    new_size = tf.maximum(new_size, image_size)
    image = tf.image.resize(tf.cast(image, tf.float32), new_size, method="area", antialias=True)
    image = tf.image.stateless_random_crop(image, (image_size, image_size, 3), seed=seed + 1)
    image = tf.image.stateless_random_flip_left_right(image, seed=seed + 2)
    return tf.clip_by_value(image / 127.5 - 1.0, -1.0, 1.0)


def inpainting_dataset(
    directory: str,
    image_size: int = 256,
    batch_size: int = 8,
    masks: str | MaskSetting = "mixed",
    seed: int | None = None,
    shuffle: bool = True,
    repeat: bool = False,
    drop_remainder: bool = True,
    shard: tuple[int, int] = (1, 0),
) -> tf.data.Dataset:
    """Batches of ``(images, masks)`` for ``InpaintingGAN.fit`` from a folder of photos.

    Every image file under ``directory`` (nested folders, jpg/png/webp/bmp/tiff) is read by
    :func:`keras_inpaint.image_io.read_image_uint8` (EXIF orientation applied; gray, palette,
    CMYK and 16-bit files become 8-bit RGB; alpha over white), randomly scaled, cropped to
    ``image_size`` x ``image_size`` and flipped. Unreadable files are skipped with a
    warning naming them; training never stops on one.

    Args:
        directory: folder of photos.
        image_size: side of the square crops.
        batch_size: images per batch.
        masks: a setting of :mod:`keras_inpaint.masks` (``"thin"``, ``"medium"``,
            ``"thick"``, ``"deepfill"``, ``"mixed"``) or a ``MaskSetting``.
        seed: makes the order, crops and masks reproducible (per epoch).
        shuffle: shuffle the files each epoch.
        repeat: repeat forever (then pass ``steps_per_epoch`` to ``fit``).
        drop_remainder: drop a last incomplete batch (fixed shapes suit XLA).
        shard: ``(count, index)``: read only the files ``index, index + count, ...`` of the
            sorted list (one input pipeline of several, e.g. one per worker), with its own
            crops and masks. The files are split, not the examples, so no worker reads a photo
            another one reads; ``tf.data``'s auto-sharding is off.

    Returns:
        ``tf.data.Dataset`` of (images float32 (B, S, S, 3) in [-1, 1],
        masks float32 (B, S, S, 1) with 1 in the hole), prefetched.
    """
    paths = list_images(directory)
    count, index = shard
    if not 0 <= index < count:
        raise ValueError(f"shard must be (count, index) with 0 <= index < count; got {shard}.")
    if len(paths) < count:
        raise DataError(f"{directory!r} holds {len(paths)} image(s): too few to give each of {count} input "
                        "pipelines (workers) at least one.")
    paths = paths[index::count]
    seed = int(np.random.default_rng().integers(2**31)) if seed is None else int(seed) + index
    files = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        files = files.repeat()
    # One independent stateless seed pair per example, itself reproducible from `seed`.
    example_seeds = tf.data.Dataset.random(seed=seed).batch(2)
    dataset = tf.data.Dataset.zip((files, example_seeds))

    def load(path, example_seed):
        image, ok = tf.numpy_function(_load_or_flag, [path], (tf.uint8, tf.bool))
        image.set_shape((None, None, 3))
        ok.set_shape(())
        return image, ok, example_seed

    def make_example(image, ok, example_seed):
        crop = _random_crop(image, image_size, tf.cast(example_seed % (2**31), tf.int32))
        mask_seed = example_seed[0] % (2**31)
        mask = tf.numpy_function(
            lambda s: random_mask(image_size, image_size, masks, int(s))[..., None], [mask_seed], tf.float32
        )
        mask.set_shape((image_size, image_size, 1))
        return crop, mask

    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.filter(lambda image, ok, s: ok)
    dataset = dataset.map(make_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE).with_options(options)


def load_images(paths: Sequence[str]) -> list[np.ndarray]:
    """Read several image files as uint8 RGB (H, W, 3) arrays.

    Raises:
        InpaintInputError (a ``ValueError``): one line naming the first unreadable file.
    """
    return [read_image_uint8(path) for path in paths]


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the short side is ``size`` (area filter), then crop the centre ``size`` x ``size``."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    resized = np.asarray(Image.fromarray(image).resize((max(size, round(w * scale)), max(size, round(h * scale))),
                                                       Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC))
    top, left = (resized.shape[0] - size) // 2, (resized.shape[1] - size) // 2
    return resized[top : top + size, left : left + size]
