"""``InpaintingGAN``: adversarial training of an inpainting generator with ``model.fit``."""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf
from keras import ops

from keras_inpaint import losses
from keras_inpaint._backend import require_tensorflow
from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.models.networks import InpaintingGenerator

# "loss" (g_loss + d_loss) is what Keras callbacks watch by default (TerminateOnNaN, EarlyStopping).
_METRIC_NAMES = (
    "loss", "g_loss", "d_loss", "l1_hole", "l1_valid", "g_adversarial", "d_adversarial",
    "r1_penalty", "feature_matching", "perceptual", "ssim_loss", "l1_boundary", "distillation",
)


class _Frozen:
    """Holds a model out of Keras's sight: its weights join neither the GAN's weights nor
    its checkpoints and presets, and no optimizer sees them."""

    def __init__(self, model):
        self.model = model


def _discriminate(discriminator, images, masks, training):
    """Run a discriminator; return (logits (N,h,w,C) float32, list of feature maps).

    A discriminator whose input has 4 channels judges the image with its mask (DeepFill v2).
    """
    if discriminator.inputs[0].shape[-1] == 4:
        images = ops.concatenate([images, masks], axis=-1)
    outputs = discriminator(images, training=training)
    if isinstance(outputs, (list, tuple)) and len(outputs) == 2 and isinstance(outputs[1], (list, tuple)):
        logits, features = outputs
    else:
        logits, features = outputs, []
    return ops.cast(logits, "float32"), list(features)


@keras.saving.register_keras_serializable(package="keras_inpaint")
class InpaintingGAN(Inpainter):
    """A generator and a discriminator trained adversarially by ``fit``.

    ``fit`` takes batches of ``(images, masks)`` (or ``{"images", "masks"}``), images
    (N,H,W,3) in [-1,1] and masks (N,H,W,1) with 1 in the hole, as produced by
    :func:`keras_inpaint.data.inpainting_dataset`. Batches of images alone get random box
    holes drawn with a ``keras.random.SeedGenerator``. One ``train_step`` updates the
    discriminator, then the generator (TensorFlow backend, ``tf.GradientTape``).

    Args:
        backbone: the generator (an :class:`InpaintingGenerator`).
        discriminator: a model mapping (N,H,W,3) images to logits (N,h,w,1), or to
            ``[logits, [feature maps]]`` for feature matching.
        adversarial_loss: ``"non_saturating"`` (default, LaMa), ``"hinge"`` (DeepFill v2)
            or ``"least_squares"``.
        adversarial_weight: weight of the generator's adversarial term (LaMa: 10).
        r1_gamma: weight of the R1 penalty on real images (LaMa: 0.001; 0 turns it off).
        mask_as_fake_target: label only hole patches of generated images fake (LaMa).
        feature_matching_weight: weight of discriminator feature matching (LaMa: 100).
        l1_hole_weight, l1_valid_weight: per-pixel L1 weights in the hole and on known
            pixels (10 and 10; LaMa uses 0 and 10 plus a perceptual network, see
            :mod:`keras_inpaint.losses`).
        perceptual_model: optional feature network for :func:`losses.perceptual_loss`.
        perceptual_weight: its weight (LaMa's ResNet-PL: 30).
        ssim_weight: weight of :func:`losses.masked_ssim_loss`, SSIM in the hole (0: off).
        boundary_weight: weight of :func:`losses.boundary_l1`, L1 on the hole pixels within
            ``boundary_width`` pixels of a known one (0: off). Tracked as ``l1_boundary``.
        teacher: optional frozen generator to distil from (MI-GAN's recipe): a model mapping
            the same (N,H,W,4) input to (N,H,W,3) in [-1,1], e.g. a trained preset's backbone.
            Used only in training; it is not part of the GAN's weights, config or presets.
        distillation_weight: weight of the L1 distance, in the hole, between the generator's
            output and the teacher's (tracked as ``distillation``; needs ``teacher``). Not
            saved with the config: pass the teacher again to continue such a run.
        ema_momentum: keep an exponential moving average of the generator's weights,
            ``ema = m * ema + (1 - m) * weights`` after every generator update (e.g. 0.999;
            0 turns it off). Use it through :meth:`swapped_ema_weights`.
        seed: seed of the generator of random holes for mask-less batches.
    """

    def __init__(
        self,
        backbone: InpaintingGenerator,
        discriminator: keras.Model,
        adversarial_loss: str = "non_saturating",
        adversarial_weight: float = 10.0,
        r1_gamma: float = 0.001,
        mask_as_fake_target: bool = True,
        feature_matching_weight: float = 100.0,
        l1_hole_weight: float = 10.0,
        l1_valid_weight: float = 10.0,
        perceptual_model: keras.Model | None = None,
        perceptual_weight: float = 30.0,
        ssim_weight: float = 0.0,
        boundary_weight: float = 0.0,
        boundary_width: int = 4,
        teacher: keras.Model | None = None,
        distillation_weight: float = 0.0,
        ema_momentum: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        require_tensorflow("InpaintingGAN")
        if adversarial_loss not in losses.ADVERSARIAL_KINDS:
            raise ValueError(
                f"unknown adversarial_loss {adversarial_loss!r}; choose one of {losses.ADVERSARIAL_KINDS}."
            )
        if not isinstance(discriminator, keras.Model):
            raise TypeError(f"discriminator must be a keras.Model; got {type(discriminator).__name__}.")
        if not 0.0 <= float(ema_momentum) < 1.0:
            raise ValueError(f"ema_momentum must be in [0, 1); got {ema_momentum}.")
        self.discriminator = discriminator
        self.adversarial_loss = adversarial_loss
        self.adversarial_weight = float(adversarial_weight)
        self.r1_gamma = float(r1_gamma)
        self.mask_as_fake_target = bool(mask_as_fake_target)
        self.feature_matching_weight = float(feature_matching_weight)
        self.l1_hole_weight = float(l1_hole_weight)
        self.l1_valid_weight = float(l1_valid_weight)
        self.perceptual_model = perceptual_model
        self.perceptual_weight = float(perceptual_weight)
        self.ssim_weight = float(ssim_weight)
        if int(boundary_width) < 1:
            raise ValueError(f"boundary_width must be at least 1 pixel; got {boundary_width}.")
        self.boundary_weight = float(boundary_weight)
        self.boundary_width = int(boundary_width)
        if float(distillation_weight) > 0 and teacher is None:
            raise ValueError("distillation_weight > 0 needs a teacher model to distil from.")
        self._teacher = None if teacher is None else _Frozen(teacher)
        self.distillation_weight = float(distillation_weight)
        self.ema_momentum = float(ema_momentum)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in _METRIC_NAMES}
        super().__init__(backbone, **kwargs)
        # Averages of every generator weight (BatchNorm statistics included), started from the
        # generator's weights by ``compile`` and saved with the model, so that a fit resumed by
        # BackupAndRestore continues the same average.
        self.ema_weights = [
            self.add_weight(shape=v.shape, initializer="zeros", dtype=v.dtype, trainable=False,
                            name=f"ema_{i}", aggregation="only_first_replica")
            for i, v in enumerate(backbone.weights)
        ] if self.ema_momentum > 0 else []

    @contextlib.contextmanager
    def swapped_ema_weights(self):
        """Inside the block the generator holds its moving-average weights (a no-op without EMA).

        ``with gan.swapped_ema_weights(): gan.save_to_preset(path)`` saves the averaged generator.
        """
        def swap():
            for weight, average in zip(self.backbone.weights, self.ema_weights):
                current = weight.numpy()
                weight.assign(average.numpy())
                average.assign(current)

        swap()
        try:
            yield self
        finally:
            swap()

    def _update_ema(self):
        for weight, average in zip(self.backbone.weights, self.ema_weights):
            average.assign(self.ema_momentum * average + (1.0 - self.ema_momentum) * ops.cast(weight, average.dtype))

    # ------------------------------------------------------------------ compile
    def compile(self, g_optimizer="auto", d_optimizer="auto", jit_compile="auto", **kwargs):
        """Compile with two optimizers.

        Defaults follow LaMa: Adam(1e-3) for the generator, Adam(1e-4) for the
        discriminator. The generator's moving average (``ema_momentum``) restarts here from
        its current weights. Under a ``mixed_float16`` policy both are wrapped in a
        ``keras.optimizers.LossScaleOptimizer``. ``jit_compile`` is passed to Keras
        (``"auto"``: XLA on a GPU, none on a CPU-only machine, where it is slower for these models).
        """
        kwargs.pop("optimizer", None)
        kwargs.pop("loss", None)
        g_optimizer = keras.optimizers.Adam(1e-3) if g_optimizer == "auto" else keras.optimizers.get(g_optimizer)
        d_optimizer = keras.optimizers.Adam(1e-4) if d_optimizer == "auto" else keras.optimizers.get(d_optimizer)
        if keras.config.dtype_policy().name == "mixed_float16" or self.dtype_policy.name == "mixed_float16":
            wrap = keras.optimizers.LossScaleOptimizer
            g_optimizer = g_optimizer if isinstance(g_optimizer, wrap) else wrap(g_optimizer)
            d_optimizer = d_optimizer if isinstance(d_optimizer, wrap) else wrap(d_optimizer)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Build each optimizer over its own network now (inside any distribution scope):
        # slot variables created lazily inside a replicated step fail, and Keras would
        # otherwise build the main optimizer over the discriminator's variables too.
        g_optimizer.build(self.backbone.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)
        keras.Model.compile(self, optimizer=g_optimizer, loss=None, jit_compile=jit_compile, **kwargs)
        for weight, average in zip(self.backbone.weights, getattr(self, "ema_weights", [])):
            average.assign(weight)

    @property
    def metrics(self):
        return list(self.trackers.values())

    # ---------------------------------------------------------------- training
    def _unpack(self, data):
        if isinstance(data, dict):
            images, masks = data["images"], data.get("masks")
        elif isinstance(data, (tuple, list)):
            images, masks = data[0], data[1] if len(data) > 1 else None
        else:
            images, masks = data, None
        images = ops.cast(images, "float32")
        if masks is None:
            masks = self._random_box_masks(images)
        return images, ops.cast(masks, "float32")

    def _random_box_masks(self, images):
        """One random box per image covering 1/16 to 1/4 of each side squared."""
        shape = ops.shape(images)
        n, h, w = shape[0], shape[1], shape[2]
        sizes = keras.random.uniform((n, 2), 0.25, 0.5, seed=self.seed_generator)
        corners = keras.random.uniform((n, 2), 0.0, 1.0, seed=self.seed_generator) * (1.0 - sizes)
        ys = ops.reshape(ops.cast(ops.arange(h), "float32") / ops.cast(h, "float32"), (1, -1, 1))
        xs = ops.reshape(ops.cast(ops.arange(w), "float32") / ops.cast(w, "float32"), (1, 1, -1))
        top, left = corners[:, 0:1, None], corners[:, 1:2, None]
        in_y = ops.logical_and(ys >= top, ys < top + sizes[:, 0:1, None])
        in_x = ops.logical_and(xs >= left, xs < left + sizes[:, 1:2, None])
        return ops.cast(ops.logical_and(in_y, in_x), "float32")[..., None]

    def _generate(self, images, masks, training):
        net_input = ops.concatenate([images * (1.0 - masks), masks], axis=-1)
        return ops.cast(self.backbone(net_input, training=training), "float32")

    def _distillation(self, images, fake, masks):
        """L1 in the hole between the generator's output and the frozen teacher's (0 without one)."""
        if self._teacher is None:
            return ops.zeros(())
        net_input = ops.concatenate([images * (1.0 - masks), masks], axis=-1)
        target = ops.stop_gradient(ops.cast(self._teacher.model(net_input, training=False), "float32"))
        return losses.region_l1(target, fake, masks, "hole")

    def _discriminator_losses(self, images, fake, masks, training):
        with tf.GradientTape() as r1_tape:
            r1_tape.watch(images)
            real_logits, _ = _discriminate(self.discriminator, images, masks, training)
            real_sum = ops.sum(real_logits)
        fake_logits, _ = _discriminate(self.discriminator, ops.stop_gradient(fake), masks, training)
        adversarial = losses.discriminator_adversarial_loss(
            real_logits, fake_logits, self.adversarial_loss, masks if self.mask_as_fake_target else None
        )
        if self.r1_gamma > 0:
            r1 = losses.r1_penalty(r1_tape.gradient(real_sum, images))
        else:
            r1 = ops.zeros(())
        return adversarial + self.r1_gamma * r1, adversarial, r1

    def _generator_losses(self, images, fake, masks, training):
        fake_logits, fake_features = _discriminate(self.discriminator, fake, masks, training)
        adversarial = losses.generator_adversarial_loss(fake_logits, self.adversarial_loss)
        reconstruction = losses.masked_l1(images, fake, masks, self.l1_hole_weight, self.l1_valid_weight)
        total = reconstruction + self.adversarial_weight * adversarial
        feature_matching = ops.zeros(())
        if self.feature_matching_weight > 0 and fake_features:
            _, real_features = _discriminate(self.discriminator, images, masks, training)
            real_features = [ops.stop_gradient(f) for f in real_features]
            feature_matching = losses.feature_matching_loss(real_features, fake_features)
            total = total + self.feature_matching_weight * feature_matching
        perceptual = ops.zeros(())
        if self.perceptual_model is not None:
            perceptual = losses.perceptual_loss(self.perceptual_model, images, fake)
            total = total + self.perceptual_weight * perceptual
        ssim = ops.zeros(())
        if self.ssim_weight > 0:
            ssim = losses.masked_ssim_loss(images, fake, masks)
            total = total + self.ssim_weight * ssim
        if self.boundary_weight > 0:
            total = total + self.boundary_weight * losses.boundary_l1(images, fake, masks, self.boundary_width)
        distillation = self._distillation(images, fake, masks)
        if self.distillation_weight > 0:
            total = total + self.distillation_weight * distillation
        return total, adversarial, feature_matching, perceptual, ssim, distillation

    def _update_trackers(self, images, fake, masks, d_losses, g_losses):
        """Feed the Mean trackers; ``d_losses``/``g_losses`` as returned by the two loss methods."""
        values = dict(zip(("d_loss", "d_adversarial", "r1_penalty"), d_losses))
        values.update(zip(("g_loss", "g_adversarial", "feature_matching", "perceptual", "ssim_loss", "distillation"),
                          g_losses))
        values["loss"] = values["g_loss"] + values["d_loss"]
        values["l1_hole"] = losses.region_l1(images, fake, masks, "hole")
        values["l1_valid"] = losses.region_l1(images, fake, masks, "valid")
        values["l1_boundary"] = losses.boundary_l1(images, fake, masks, self.boundary_width)
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        images, masks = self._unpack(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as g_tape:
            fake = self._generate(images, masks, training=True)

        # 1. Discriminator update on the generated batch (no gradient to the generator).
        d_variables = self.discriminator.trainable_variables
        with tf.GradientTape() as d_tape:
            d_loss, d_adversarial, r1 = self._discriminator_losses(images, fake, masks, training=True)
            scaled_d_loss = self.d_optimizer.scale_loss(d_loss / replicas)
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(scaled_d_loss, d_variables), d_variables))

        # 2. Generator update against the freshly updated discriminator (same forward pass).
        g_variables = self.backbone.trainable_variables
        with g_tape:
            g_losses = self._generator_losses(images, fake, masks, training=True)
            g_loss = g_losses[0]
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss / replicas)
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(scaled_g_loss, g_variables), g_variables))
        self._update_ema()
        return self._update_trackers(images, fake, masks, (d_loss, d_adversarial, r1), g_losses)

    def test_step(self, data):
        images, masks = self._unpack(data)
        fake = self._generate(images, masks, training=False)
        return self._update_trackers(images, fake, masks,
                                     self._discriminator_losses(images, fake, masks, training=False),
                                     self._generator_losses(images, fake, masks, training=False))

    # ------------------------------------------------------------ serialization
    def get_config(self):
        config = super().get_config()
        config.update({
            "discriminator": keras.layers.serialize(self.discriminator),
            "adversarial_loss": self.adversarial_loss,
            "adversarial_weight": self.adversarial_weight,
            "r1_gamma": self.r1_gamma,
            "mask_as_fake_target": self.mask_as_fake_target,
            "feature_matching_weight": self.feature_matching_weight,
            "l1_hole_weight": self.l1_hole_weight,
            "l1_valid_weight": self.l1_valid_weight,
            "perceptual_model": None if self.perceptual_model is None else keras.layers.serialize(self.perceptual_model),
            "perceptual_weight": self.perceptual_weight,
            "ssim_weight": self.ssim_weight,
            "boundary_weight": self.boundary_weight,
            "boundary_width": self.boundary_width,
            "ema_momentum": self.ema_momentum,
            "seed": self.seed,
        })
        if getattr(self, "g_optimizer", None) is not None:
            config["optimizers"] = {
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
                "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            }
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        optimizers = config.pop("optimizers", None)
        for key in ("backbone", "discriminator", "perceptual_model"):
            if isinstance(config.get(key), dict):
                config[key] = keras.layers.deserialize(config[key])
        model = cls(**config)
        if optimizers:
            model.compile(
                g_optimizer=keras.optimizers.deserialize(optimizers["g_optimizer"]),
                d_optimizer=keras.optimizers.deserialize(optimizers["d_optimizer"]),
            )
        return model
