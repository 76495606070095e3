"""``Inpainter``: a generator wrapped for inference, presets and supervised fine-tuning."""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops
from keras_hub.models import Task

from keras_inpaint.blending import BLENDS
from keras_inpaint.errors import InpaintInputError
from keras_inpaint.hd_strategy import (DEFAULT_CROP_MARGIN, Plan, Settings, activation_bytes_per_pixel,
                                       check_strategy, inpaint_batch)
from keras_inpaint.hd_strategy import plan as plan_inference
from keras_inpaint.inputs import validate_batch
from keras_inpaint.models.gan_steps import is_multi_worker
from keras_inpaint.models.networks import InpaintingGenerator
from keras_inpaint.models.preset_loading import load_task
from keras_inpaint.pipeline import IMAGE_RESIZES, MASK_RESIZES, PAD_MODES, composite, masked_input


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


def _check_inference_settings(working_size, blend, pad_mode, hd_strategy="auto", crop_margin=0,
                              mask_resize="any", image_resize="area") -> None:
    if working_size is not None and (isinstance(working_size, bool) or not isinstance(working_size, numbers.Integral)
                                     or working_size < 1):
        raise InpaintInputError(f"working_size must be a positive number of pixels or None; got {working_size!r}.")
    if blend is not None and blend not in BLENDS:
        raise InpaintInputError(f"unknown blend {blend!r}; choose one of {BLENDS} or None.")
    if pad_mode not in PAD_MODES:
        raise InpaintInputError(f"unknown pad_mode {pad_mode!r}; choose one of {PAD_MODES}.")
    check_strategy(hd_strategy, crop_margin)
    if mask_resize not in MASK_RESIZES:
        raise InpaintInputError(f"unknown mask_resize {mask_resize!r}; choose one of {MASK_RESIZES}.")
    if image_resize not in IMAGE_RESIZES:
        raise InpaintInputError(f"unknown image_resize {image_resize!r}; choose one of {IMAGE_RESIZES}.")


# The constructor arguments that are inference settings: what a preset carries besides networks.
# A preset saved before a setting existed loads with the constructor's default for it.
INFERENCE_SETTINGS = ("working_size", "blend", "pad_mode", "hd_strategy", "crop_margin", "mask_resize",
                      "image_resize")


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
            prediction code).
        hd_strategy: :meth:`inpaint`'s default for large photos (:mod:`keras_inpaint.hd_strategy`):
            ``"auto"``, ``"crop"``, ``"resize"`` or ``"original"``.
        crop_margin: pixels of context around each hole's box in the ``crop`` strategy
            (MI-GAN's ``padding``).
        mask_resize: how the mask is shrunk to the working (or fixed input) size: ``"any"``
            (a small pixel is a hole if any pixel it covers is), ``"nearest"`` (torchvision's
            nearest, MI-GAN's pipeline) or ``"nearest_exact"`` (PIL's nearest, MI-GAN's demo;
            :func:`keras_inpaint.pipeline.shrink`).
        image_resize: how the image is resized to the working (or fixed input) size and the
            fill back: ``"area"`` (area average down, bilinear up) or ``"bicubic"`` both ways
            (clipped to the valid range), as MI-GAN's demo does with PIL and OpenCV
            (:func:`keras_inpaint.pipeline.shrink`, :func:`keras_inpaint.pipeline.enlarge`).

    These are part of the model's config, so a preset carries the settings it was evaluated
    with (:data:`INFERENCE_SETTINGS`).
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
        hd_strategy: str = "auto",
        crop_margin: int = DEFAULT_CROP_MARGIN,
        mask_resize: str = "any",
        image_resize: str = "area",
        **kwargs,
    ):
        if not isinstance(backbone, InpaintingGenerator):
            raise TypeError(f"backbone must be an InpaintingGenerator; got {type(backbone).__name__}.")
        _check_inference_settings(working_size, blend, pad_mode, hd_strategy, crop_margin, mask_resize, image_resize)
        self.pad_mode = pad_mode
        self.mask_resize = mask_resize
        self.image_resize = image_resize
        self.hd_strategy = hd_strategy
        self.crop_margin = int(crop_margin)
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
                "working_size": self.working_size, "blend": self.blend, "pad_mode": self.pad_mode,
                "hd_strategy": self.hd_strategy, "crop_margin": self.crop_margin, "mask_resize": self.mask_resize,
                "image_resize": self.image_resize}

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
        hd_strategy: str | None = None,
        crop_margin: int | None = None,
        max_memory_gb: float | None | str = "auto",
    ) -> np.ndarray:
        """Fill the holes of ``images``.

        Args:
            images: (H, W, 3) or (N, H, W, 3); uint8 in [0, 255] or float in [0, 1]; numpy
                or tensor; any height and width.
            masks: (H, W), (H, W, 1), (N, H, W) or (N, H, W, 1); 1/True marks the hole;
                bool, {0, 1} or uint8 {0, 255}.
            batch_size: images per forward pass (``crop``: one crop per pass).
            working_size: if given, images whose longer side exceeds it are inpainted at that
                size and the fill is enlarged back (as the model's ``image_resize`` and
                ``mask_resize`` say; by default area-downscaled, a small pixel a hole if any
                pixel it covers is, and bilinearly enlarged): a model trained on small crops then sees
                holes of the size it learned. ``None``: full resolution. ``"auto"`` (default):
                the model's own setting (``self.working_size``, from its preset). A generator
                that takes one input size only (MI-GAN's official layout) gets that size.
            blend: ``"poisson"`` blends the fill into the photo (:mod:`keras_inpaint.blending`:
                the fill's gradients, the photo's colours at the hole's edge), removing the seam
                where the two differ. ``None``: the fill is pasted as generated. ``"auto"``
                (default): the model's own setting (``self.blend``).
            hd_strategy: what the working size applies to (:mod:`keras_inpaint.hd_strategy`):
                ``"crop"`` a box around each hole (memory bounded by the holes, not the photo),
                ``"resize"`` the whole photo, ``"original"`` nothing (full resolution),
                ``"auto"`` crop for large photos. ``None`` (default): the model's own setting.
            crop_margin: context pixels around each hole's box for ``"crop"``; ``None``
                (default): the model's own setting.
            max_memory_gb: refuse (``InpaintInputError``, before allocating) a call whose
                estimated peak memory exceeds this many GB. ``"auto"`` (default): the memory
                available now (Linux's MemAvailable, capped by a container's limit); ``None``:
                no check.

        Returns:
            numpy array shaped and typed like ``images`` (uint8 stays uint8 in [0, 255],
            float stays float in [0, 1]). Known pixels are returned unchanged, to the bit.
        """
        batch, settings, hd_strategy = self._inference(images, masks, working_size, blend, hd_strategy, crop_margin)
        return inpaint_batch(batch, settings, hd_strategy, batch_size, max_memory_gb)

    def plan(self, images, masks, batch_size: int = 8, working_size: int | None | str = "auto",
             blend: str | None = "auto", hd_strategy: str | None = None, crop_margin: int | None = None) -> Plan:
        """What :meth:`inpaint` with these arguments would do, without doing it: the strategy
        (``auto`` resolved), the crop boxes and the estimated peak memory in bytes
        (:class:`keras_inpaint.hd_strategy.Plan`)."""
        batch, settings, hd_strategy = self._inference(images, masks, working_size, blend, hd_strategy, crop_margin)
        return plan_inference(batch, settings, hd_strategy, batch_size)

    def _generator_function(self):
        """``backbone.predict_on_batch``, or, for a model built under
        ``tf.distribute.MultiWorkerMirroredStrategy``, a call of the generator on this process's
        copy of the weights: ``predict`` there gathers every worker's results, so one worker
        inpainting alone (the chief's sample pictures) would wait for the others forever."""
        strategy = getattr(self.backbone, "_distribute_strategy", None)
        if keras.config.backend() != "tensorflow" or strategy is None or not is_multi_worker(strategy):
            return self.backbone.predict_on_batch
        return lambda x: ops.convert_to_numpy(self.backbone(x, training=False))

    def _inference(self, images, masks, working_size, blend, hd_strategy, crop_margin):
        working_size = self.working_size if working_size == "auto" else working_size
        blend = self.blend if blend == "auto" else blend
        hd_strategy = self.hd_strategy if hd_strategy is None else hd_strategy
        crop_margin = self.crop_margin if crop_margin is None else crop_margin
        _check_inference_settings(working_size, blend, self.pad_mode, hd_strategy, crop_margin)
        settings = Settings(self._generator_function(), self.backbone.size_multiple, self.backbone.input_size,
                            working_size, self.pad_mode, blend, int(crop_margin),
                            activation_bytes_per_pixel(self.backbone), self.mask_resize, self.image_resize)
        return validate_batch(images, masks), settings, hd_strategy
