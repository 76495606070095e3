"""``tf.data`` pipelines of (image, mask) batches from a folder of the user's photos."""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from keras_inpaint.errors import DataError
from keras_inpaint.masks import MaskSetting, random_mask

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
#: What reading a damaged, truncated or mislabelled image file raises.
UNREADABLE_ERRORS = (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError)


def list_images(directory: str) -> list[str]:
    """All image files (jpg/jpeg/png/webp/bmp, any case) under ``directory``, recursively, sorted.

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


def load_rgb(path: str) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3); grayscale, palette and RGBA are converted."""
    with Image.open(path) as image:
        image.load()
        if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image.convert("RGBA"), mask=image.convert("RGBA").split()[-1])
            image = background
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _load_or_flag(path: bytes) -> tuple[np.ndarray, bool]:
    name = path.decode()
    try:
        return load_rgb(name), True
    except UNREADABLE_ERRORS as e:
        warnings.warn(f"skipping unreadable image {name}: {type(e).__name__}: {e}", stacklevel=2)
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
) -> tf.data.Dataset:
    """Batches of ``(images, masks)`` for ``InpaintingGAN.fit`` from a folder of photos.

    Every image file under ``directory`` (nested folders, jpg/png/webp/bmp) is read with
    Pillow (grayscale and RGBA become RGB), randomly scaled, cropped to
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

    Returns:
        ``tf.data.Dataset`` of (images float32 (B, S, S, 3) in [-1, 1],
        masks float32 (B, S, S, 1) with 1 in the hole), prefetched.
    """
    paths = list_images(directory)
    seed = int(np.random.default_rng().integers(2**31)) if seed is None else int(seed)
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
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def load_images(paths: Sequence[str]) -> list[np.ndarray]:
    """Read several image files as uint8 RGB arrays (errors name the file)."""
    images = []
    for path in paths:
        try:
            images.append(load_rgb(path))
        except (OSError, UnidentifiedImageError) as e:
            raise ValueError(f"cannot read image {path!r}: {e}") from e
    return images


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the short side is ``size`` (area filter), then crop the centre ``size`` x ``size``."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    resized = np.asarray(Image.fromarray(image).resize((max(size, round(w * scale)), max(size, round(h * scale))),
                                                       Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC))
    top, left = (resized.shape[0] - size) // 2, (resized.shape[1] - size) // 2
    return resized[top : top + size, left : left + size]
