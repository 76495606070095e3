"""``Inpainter``: a generator wrapped for inference, presets and supervised fine-tuning."""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops
from keras_hub.models import Task

from keras_inpaint.blending import BLENDS, blend_batch
from keras_inpaint.inputs import pad_to_multiple, prepare_batch, restore_output
from keras_inpaint.models.networks import InpaintingGenerator
from keras_inpaint.working_size import enlarge, shrink, working_shape


@keras.saving.register_keras_serializable(package="keras_inpaint")
class MaskImage(keras.layers.Layer):
    """(images (N,H,W,3) in [-1,1], masks (N,H,W,1)) -> (N,H,W,4): holes zeroed, mask appended."""

    def call(self, images, masks):
        masks = ops.cast(masks, images.dtype)
        return ops.concatenate([images * (1.0 - masks), masks], axis=-1)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class CompositeHole(keras.layers.Layer):
    """Keep known pixels, take generated ones in the hole: ``m * generated + (1 - m) * image``."""

    def call(self, generated, images, masks):
        generated = ops.cast(generated, "float32")
        images = ops.cast(images, "float32")
        masks = ops.cast(masks, "float32")
        return masks * generated + (1.0 - masks) * images


def _check_inference_settings(working_size, blend) -> None:
    if working_size is not None and (isinstance(working_size, bool) or not isinstance(working_size, numbers.Integral)
                                     or working_size < 1):
        raise ValueError(f"working_size must be a positive number of pixels or None; got {working_size!r}.")
    if blend is not None and blend not in BLENDS:
        raise ValueError(f"unknown blend {blend!r}; choose one of {BLENDS} or None.")


@keras.saving.register_keras_serializable(package="keras_inpaint")
class Inpainter(Task):
    """An inpainting model ready to use: a generator plus masking and compositing.

    Call it on ``{"images": (N,H,W,3) in [-1,1], "masks": (N,H,W,1) in {0,1}}`` to get the
    composited (N,H,W,3) float32 result in [-1,1], or use :meth:`inpaint` on ordinary
    uint8/float images of any size.

    Args:
        backbone: an :class:`InpaintingGenerator`.
        working_size: :meth:`inpaint`'s default working size (``None``: full resolution).
        blend: :meth:`inpaint`'s default blending (``None`` or ``"poisson"``).
            Both are part of the model's config, so a preset carries the settings it was
            evaluated with.
    """

    backbone_cls = InpaintingGenerator
    preprocessor_cls = None

    def __init__(
        self,
        backbone: InpaintingGenerator,
        preprocessor=None,
        working_size: int | None = None,
        blend: str | None = None,
        **kwargs,
    ):
        if not isinstance(backbone, InpaintingGenerator):
            raise TypeError(f"backbone must be an InpaintingGenerator; got {type(backbone).__name__}.")
        _check_inference_settings(working_size, blend)
        self.working_size = None if working_size is None else int(working_size)
        self.blend = blend
        self.backbone = backbone
        self.preprocessor = None
        images = keras.Input(shape=(None, None, 3), name="images")
        masks = keras.Input(shape=(None, None, 1), name="masks")
        generated = backbone(MaskImage(name="mask_image")(images, masks))
        outputs = CompositeHole(name="composite", dtype="float32")(generated, images, masks)
        super().__init__(inputs={"images": images, "masks": masks}, outputs=outputs, **kwargs)

    @property
    def generator(self) -> InpaintingGenerator:
        """The generator (the keras-hub backbone)."""
        return self.backbone

    def compile(self, optimizer="auto", loss="auto", **kwargs):
        """Supervised compile: Adam(1e-4) and mean absolute error unless given."""
        optimizer = keras.optimizers.Adam(1e-4) if optimizer == "auto" else optimizer
        loss = keras.losses.MeanAbsoluteError() if loss == "auto" else loss
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def get_config(self):
        return {"backbone": keras.layers.serialize(self.backbone), "name": self.name,
                "working_size": self.working_size, "blend": self.blend}

    @classmethod
    def from_preset(cls, preset: str, load_weights: bool = True, **kwargs) -> "Inpainter":
        """Load from a built-in preset name, a local preset directory or ``hf://org/name[@revision]``.

        A built-in name whose weights are not published builds the architecture with
        random weights and warns that it did so.
        """
        from keras_inpaint.models.preset_loading import load_task

        return load_task(cls, preset, load_weights=load_weights, **kwargs)

    def inpaint(
        self,
        images,
        masks,
        batch_size: int = 8,
        working_size: int | None | str = "auto",
        blend: str | None = "auto",
    ) -> np.ndarray:
        """Fill the holes of ``images``.

        Args:
            images: (H, W, 3) or (N, H, W, 3); uint8 in [0, 255] or float in [0, 1]; numpy
                or tensor; any height and width.
            masks: (H, W), (H, W, 1), (N, H, W) or (N, H, W, 1); 1/True marks the hole;
                bool, {0, 1} or uint8 {0, 255}.
            batch_size: images per forward pass.
            working_size: if given, images whose longer side exceeds it are inpainted at that
                size (area-downscaled; a small pixel is a hole if any pixel it covers is) and
                the fill is bilinearly enlarged back: a model trained on small crops then sees
                holes of the size it learned. ``None``: full resolution. ``"auto"`` (default):
                the model's own setting (``self.working_size``, from its preset).
            blend: ``"poisson"`` blends the fill into the photo (:mod:`keras_inpaint.blending`:
                the fill's gradients, the photo's colours at the hole's edge), removing the seam
                where the two differ. ``None``: the fill is pasted as generated. ``"auto"``
                (default): the model's own setting (``self.blend``).

        Returns:
            numpy array shaped and typed like ``images`` (uint8 stays uint8 in [0, 255],
            float stays float in [0, 1]). Known pixels are returned unchanged, to the bit.
        """
        working_size = self.working_size if working_size == "auto" else working_size
        blend = self.blend if blend == "auto" else blend
        _check_inference_settings(working_size, blend)
        batch = prepare_batch(images, masks)
        full_shape = batch.images.shape[1:3]
        model_images, model_masks = batch.images, batch.masks
        if working_size is not None:
            shape = working_shape(*full_shape, working_size)
            if shape != full_shape:
                model_images, model_masks = shrink(batch.images, batch.masks, shape)
        multiple = self.backbone.size_multiple
        outputs = []
        for start in range(0, model_images.shape[0], batch_size):
            chunk_images = model_images[start : start + batch_size]
            chunk_masks = model_masks[start : start + batch_size]
            if not chunk_masks.any():
                outputs.append(chunk_images)
                continue
            # At least two cells at the coarsest scale: reflection padding inside the
            # generators needs more than one pixel there.
            padded_images, (h, w) = pad_to_multiple(chunk_images * 2.0 - 1.0, multiple, 2 * multiple)
            padded_masks, _ = pad_to_multiple(chunk_masks, multiple, 2 * multiple)
            if blend is None:
                result = self.predict_on_batch({"images": padded_images, "masks": padded_masks})
            else:
                # Blending needs the generator's own colours on the known side of the seam.
                masked = np.concatenate([padded_images * (1.0 - padded_masks), padded_masks], axis=-1)
                result = self.backbone.predict_on_batch(masked)
            outputs.append((np.asarray(result)[:, :h, :w, :] + 1.0) / 2.0)
        prediction = np.concatenate(outputs, axis=0)
        if prediction.shape[1:3] != full_shape:
            prediction = enlarge(prediction, full_shape)
        if blend is not None:
            prediction = blend_batch(batch.images, prediction, batch.masks, blend)
        return restore_output(prediction, batch)
