"""``Inpainter``: a generator wrapped for inference, presets and supervised fine-tuning."""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops
from keras_hub.models import Task

from keras_inpaint.blending import BLENDS, blend_batch
from keras_inpaint.errors import InpaintInputError
from keras_inpaint.inputs import prepare_batch, restore_output
from keras_inpaint.models.networks import InpaintingGenerator
from keras_inpaint.models.preset_loading import load_task
from keras_inpaint.pipeline import PAD_MODES, composite, fill_holes, masked_input


@keras.saving.register_keras_serializable(package="keras_inpaint")
class MaskImage(keras.layers.Layer):
    """(images (N,H,W,3) in [-1,1], masks (N,H,W,1)) -> (N,H,W,4): :func:`pipeline.masked_input`."""

    def call(self, images, masks):
        return masked_input(images, masks)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class CompositeHole(keras.layers.Layer):
    """Generated pixels in the hole, the image's elsewhere: :func:`pipeline.composite` (float32)."""

    def call(self, generated, images, masks):
        return composite(ops.cast(generated, "float32"), ops.cast(images, "float32"), masks)


def _check_inference_settings(working_size, blend, pad_mode) -> None:
    if working_size is not None and (isinstance(working_size, bool) or not isinstance(working_size, numbers.Integral)
                                     or working_size < 1):
        raise InpaintInputError(f"working_size must be a positive number of pixels or None; got {working_size!r}.")
    if blend is not None and blend not in BLENDS:
        raise InpaintInputError(f"unknown blend {blend!r}; choose one of {BLENDS} or None.")
    if pad_mode not in PAD_MODES:
        raise InpaintInputError(f"unknown pad_mode {pad_mode!r}; choose one of {PAD_MODES}.")


# The constructor arguments that are inference settings: what a preset carries besides networks.
INFERENCE_SETTINGS = ("working_size", "blend", "pad_mode")


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
        pad_mode: how :meth:`inpaint` pads images to the generator's size multiple:
            ``"reflect"`` (edge not repeated) or ``"symmetric"`` (edge repeated, LaMa's own
            prediction code). These three are part of the model's config, so a preset carries
            the settings it was evaluated with (:data:`INFERENCE_SETTINGS`).
    """

    backbone_cls = InpaintingGenerator
    preprocessor_cls = None
    inference_settings = INFERENCE_SETTINGS  # read from a preset's task.json by from_preset
    needs_discriminator = False  # from_preset builds the generator alone

    def __init__(
        self,
        backbone: InpaintingGenerator,
        preprocessor=None,
        working_size: int | None = None,
        blend: str | None = None,
        pad_mode: str = "reflect",
        **kwargs,
    ):
        if not isinstance(backbone, InpaintingGenerator):
            raise TypeError(f"backbone must be an InpaintingGenerator; got {type(backbone).__name__}.")
        _check_inference_settings(working_size, blend, pad_mode)
        self.pad_mode = pad_mode
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
                "working_size": self.working_size, "blend": self.blend, "pad_mode": self.pad_mode}

    @classmethod
    def from_preset(cls, preset: str, load_weights: bool = True, **kwargs) -> "Inpainter":
        """Load from a built-in preset name, a local preset directory or ``hf://org/name[@revision]``.

        A built-in name whose weights are not published builds the architecture with
        random weights and warns that it did so.
        """
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
        _check_inference_settings(working_size, blend, self.pad_mode)
        batch = prepare_batch(images, masks)
        fills = []
        for start in range(0, batch.images.shape[0], batch_size):
            chunk_images = batch.images[start : start + batch_size]
            chunk_masks = batch.masks[start : start + batch_size]
            if not chunk_masks.any():
                fills.append(chunk_images)
                continue
            fills.append(np.asarray(fill_holes(chunk_images, chunk_masks, self.backbone.predict_on_batch,
                                               self.backbone.size_multiple, working_size, self.pad_mode,
                                               keep_known=blend is None)))
        prediction = np.concatenate(fills, axis=0)
        if blend is not None:
            prediction = blend_batch(batch.images, prediction, batch.masks, blend)
        return restore_output(prediction, batch)
