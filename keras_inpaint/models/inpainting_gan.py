"""``InpaintingGAN``: adversarial training of an inpainting generator with ``model.fit``.

The training step reads as the algorithm (the keras.io GAN examples' shape): generate,
update the discriminator on real and generated images, then update the generator against the
updated discriminator. Every loss is one row of :data:`GENERATOR_TERMS` or
:data:`DISCRIMINATOR_TERMS`: its logged name, the constructor argument holding its weight and
the function computing it. A term whose weight is 0 (or whose model is missing) is neither
computed nor logged; adding a term is adding a row.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable

import keras
from keras import ops

from keras_inpaint import losses
from keras_inpaint.models.gan_steps import (JaxSteps, PairedOptimizer, TensorFlowSteps, is_multi_worker,
                                            mean_over_replicas)
from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.models.networks import InpaintingGenerator
from keras_inpaint.pipeline import masked_input


class _Frozen:
    """Holds a model out of Keras's sight: its weights join neither the GAN's weights nor
    its checkpoints and presets, and no optimizer sees them."""

    def __init__(self, model):
        self.model = model


def discriminate(discriminator, images, masks, training):
    """Run a discriminator; return (logits (N,h,w,C) float32, list of feature maps).

    ``images`` (N,H,W,3) in [-1,1] and ``masks`` (N,H,W,1), 1 = hole. A discriminator whose
    input has 4 channels judges the image with its mask (DeepFill v2); one with 6 channels is
    pix2pix's conditional PatchGAN and judges concat(the generator's masked input image, image).
    """
    channels = discriminator.inputs[0].shape[-1]
    if channels == 4:
        images = ops.concatenate([images, masks], axis=-1)
    elif channels == 6:
        images = ops.concatenate([masked_input(images, masks)[..., :3], images], axis=-1)
    outputs = discriminator(images, training=training)
    if isinstance(outputs, (list, tuple)) and len(outputs) == 2 and isinstance(outputs[1], (list, tuple)):
        logits, features = outputs
    else:
        logits, features = outputs, []
    return ops.cast(logits, "float32"), list(features)


@dataclasses.dataclass
class StepTensors:
    """What one step's loss terms read: real ``images`` and ``fake`` (N,H,W,3) in [-1,1],
    ``masks`` (N,H,W,1) with 1 = hole, the discriminator's logits and features, the GAN."""

    gan: Any
    images: Any
    fake: Any
    masks: Any
    training: bool
    fake_logits: Any = None
    fake_features: list = dataclasses.field(default_factory=list)
    real_logits: Any = None
    real_gradients: Any = None


@dataclasses.dataclass(frozen=True)
class LossTerm:
    """One weighted term: logged as ``name``, weighted by the GAN argument ``weight``
    (``None``: always on, weight 1), computed by ``compute(StepTensors)``; ``needs`` names a
    GAN attribute (a model) without which the term is off."""

    name: str
    weight: str | None
    compute: Callable[[StepTensors], Any]
    help: str
    needs: str | None = None


def _hole_l1(t):
    return ops.mean(ops.abs(t.images - t.fake) * t.masks)


def _valid_l1(t):
    return ops.mean(ops.abs(t.images - t.fake) * (1.0 - t.masks))


def _feature_matching(t):
    if not t.fake_features:  # a discriminator without feature maps
        return ops.zeros(())
    _, real_features = discriminate(t.gan.discriminator, t.images, t.masks, t.training)
    return losses.feature_matching_loss([ops.stop_gradient(f) for f in real_features], t.fake_features)


def _distillation(t):
    teacher = t.gan.teacher
    target = ops.stop_gradient(ops.cast(teacher(masked_input(t.images, t.masks), training=False), "float32"))
    return losses.region_l1(target, t.fake, t.masks, "hole")


def _discriminator_adversarial(t):
    fake_masks = t.masks if t.gan.mask_as_fake_target else None
    return losses.discriminator_adversarial_loss(t.real_logits, t.fake_logits, t.gan.adversarial_loss, fake_masks)


# The sum of weight x value over the active rows is the generator's loss. The L1 rows together
# are losses.masked_l1 (a mean over all pixels, weighted by region).
GENERATOR_TERMS = (
    LossTerm("l1_hole", "l1_hole_weight", _hole_l1, "L1 inside the hole (mean over all pixels)"),
    LossTerm("l1_valid", "l1_valid_weight", _valid_l1, "L1 on the known pixels (mean over all pixels)"),
    LossTerm("g_adversarial", "adversarial_weight",
             lambda t: losses.generator_adversarial_loss(t.fake_logits, t.gan.adversarial_loss),
             "generator's adversarial loss"),
    LossTerm("feature_matching", "feature_matching_weight", _feature_matching, "discriminator feature matching"),
    LossTerm("perceptual", "perceptual_weight",
             lambda t: losses.perceptual_loss(t.gan.perceptual_model, t.images, t.fake),
             "perceptual loss (presets with a perceptual model only)", needs="perceptual_model"),
    LossTerm("ssim_loss", "ssim_weight", lambda t: losses.masked_ssim_loss(t.images, t.fake, t.masks),
             "1 - SSIM inside the hole"),
    LossTerm("l1_boundary", "boundary_weight",
             lambda t: losses.boundary_l1(t.images, t.fake, t.masks, t.gan.boundary_width),
             "L1 on a band along the hole's border"),
    LossTerm("distillation", "distillation_weight", _distillation, "L1 in the hole to the teacher's output",
             needs="teacher"),
)
DISCRIMINATOR_TERMS = (
    LossTerm("d_adversarial", None, _discriminator_adversarial, "discriminator's adversarial loss"),
    LossTerm("r1_penalty", "r1_gamma", lambda t: losses.r1_penalty(t.real_gradients),
             "R1 gradient penalty of the discriminator"),
)
LOSS_WEIGHTS = tuple(term.weight for term in GENERATOR_TERMS + DISCRIMINATOR_TERMS if term.weight)
# The backends with a gradient step in keras_inpaint.models.gan_steps.
TRAINING_BACKENDS = ("tensorflow", "jax")


def _optimizer_config(optimizer, default_rate: float) -> dict:
    """A serialised optimizer: ``None`` gives Adam(``default_rate``); a loss-scale wrapper is unwrapped."""
    if optimizer is None:
        optimizer = keras.optimizers.Adam(default_rate)
    if isinstance(optimizer, dict):
        return optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    return keras.optimizers.serialize(keras.optimizers.get(optimizer))


@keras.saving.register_keras_serializable(package="keras_inpaint")
class InpaintingGAN(Inpainter):
    """A generator and a discriminator trained adversarially by ``fit``.

    ``fit`` takes batches of ``(images, masks)`` (or ``{"images", "masks"}``), images
    (N,H,W,3) in [-1,1] and masks (N,H,W,1) with 1 in the hole, as produced by
    :func:`keras_inpaint.data.inpainting_dataset`. Batches of images alone get random box
    holes drawn with a ``keras.random.SeedGenerator``. One ``train_step`` updates the
    discriminator, then the generator, on TensorFlow (``tf.GradientTape``) or JAX (stateless,
    ``jax.grad``): :mod:`keras_inpaint.models.gan_steps`.

    Like every keras-hub ``Task`` it is compiled when built (``compile=False`` skips that), with
    its own optimizers: ``from_config`` and ``from_preset`` therefore give a model ready to
    ``fit`` with the optimizers its preset names.

    Args:
        backbone: the generator (an :class:`InpaintingGenerator`).
        discriminator: a model mapping (N,H,W,3) images to logits (N,h,w,1), or to
            ``[logits, [feature maps]]`` for feature matching.
        adversarial_loss: ``"non_saturating"`` (default, LaMa), ``"hinge"`` (DeepFill v2)
            or ``"least_squares"``.
        mask_as_fake_target: label only hole patches of generated images fake (LaMa).
        adversarial_weight, r1_gamma, feature_matching_weight, l1_hole_weight,
            l1_valid_weight, perceptual_weight, ssim_weight, boundary_weight,
            distillation_weight: the weights of the loss terms (:data:`GENERATOR_TERMS`,
            :data:`DISCRIMINATOR_TERMS`); 0 turns a term off.
        perceptual_model: optional feature network for :func:`losses.perceptual_loss`.
        boundary_width: width in pixels of the band ``l1_boundary`` averages over.
        teacher: optional frozen generator to distil from (MI-GAN's recipe): a model mapping
            the same (N,H,W,4) input to (N,H,W,3) in [-1,1], e.g. a trained preset's backbone.
            Used only in training; it is not part of the GAN's weights, config or presets.
        ema_momentum: keep an exponential moving average of the generator's weights,
            ``ema = m * ema + (1 - m) * weights`` after every generator update (e.g. 0.999;
            0 turns it off). Use it through :meth:`swapped_ema_weights`.
        g_optimizer, d_optimizer: the optimizers :meth:`compile` uses by default (an optimizer
            or its serialised config); ``None``: Adam(1e-3) and Adam(1e-4), LaMa's.
        seed: seed of the generator of random holes for mask-less batches.
    """

    needs_discriminator = True  # from_preset builds the preset's training recipe too

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
        g_optimizer=None,
        d_optimizer=None,
        seed: int | None = None,
        **kwargs,
    ):
        if keras.config.backend() not in TRAINING_BACKENDS:
            raise RuntimeError(f"InpaintingGAN trains on {' or '.join(TRAINING_BACKENDS)}; KERAS_BACKEND is "
                               f"{keras.config.backend()!r}. Inference (Inpainter) runs on any backend.")
        if adversarial_loss not in losses.ADVERSARIAL_KINDS:
            raise ValueError(
                f"unknown adversarial_loss {adversarial_loss!r}; choose one of {losses.ADVERSARIAL_KINDS}."
            )
        if not isinstance(discriminator, keras.Model):
            raise TypeError(f"discriminator must be a keras.Model; got {type(discriminator).__name__}.")
        if not 0.0 <= float(ema_momentum) < 1.0:
            raise ValueError(f"ema_momentum must be in [0, 1); got {ema_momentum}.")
        if int(boundary_width) < 1:
            raise ValueError(f"boundary_width must be at least 1 pixel; got {boundary_width}.")
        if float(distillation_weight) > 0 and teacher is None:
            raise ValueError("distillation_weight > 0 needs a teacher model to distil from.")
        self.discriminator = discriminator
        self.adversarial_loss = adversarial_loss
        self.mask_as_fake_target = bool(mask_as_fake_target)
        self.perceptual_model = perceptual_model
        self.boundary_width = int(boundary_width)
        self._teacher = None if teacher is None else _Frozen(teacher)
        weights = {"adversarial_weight": adversarial_weight, "r1_gamma": r1_gamma,
                   "feature_matching_weight": feature_matching_weight, "l1_hole_weight": l1_hole_weight,
                   "l1_valid_weight": l1_valid_weight, "perceptual_weight": perceptual_weight,
                   "ssim_weight": ssim_weight, "boundary_weight": boundary_weight,
                   "distillation_weight": distillation_weight}
        for name, value in weights.items():
            setattr(self, name, float(value))
        self.ema_momentum = float(ema_momentum)
        self.g_optimizer_config = _optimizer_config(g_optimizer, 1e-3)
        self.d_optimizer_config = _optimizer_config(d_optimizer, 1e-4)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.generator_terms = self._active(GENERATOR_TERMS)
        self.discriminator_terms = self._active(DISCRIMINATOR_TERMS)
        names = ["loss", "g_loss", "d_loss"] + [t.name for t in self.generator_terms + self.discriminator_terms]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        super().__init__(backbone, **kwargs)
        # Averages of every generator weight (BatchNorm statistics included), started from the
        # generator's weights by ``compile`` and saved with the model, so that a fit resumed by
        # BackupAndRestore continues the same average.
        self.ema_weights = [
            self.add_weight(shape=v.shape, initializer="zeros", dtype=v.dtype, trainable=False,
                            name=f"ema_{i}", aggregation="only_first_replica")
            for i, v in enumerate(backbone.weights)
        ] if self.ema_momentum > 0 else []
        for weight, average in zip(backbone.weights, self.ema_weights):
            average.assign(weight)

    def _active(self, terms) -> tuple[LossTerm, ...]:
        """The rows whose weight is non-zero and whose model (``needs``) is present."""
        return tuple(t for t in terms if (t.weight is None or getattr(self, t.weight) != 0.0)
                     and (t.needs is None or getattr(self, t.needs) is not None))

    @property
    def teacher(self) -> keras.Model | None:
        """The frozen generator distilled from, or None."""
        return None if self._teacher is None else self._teacher.model

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

    @property
    def replica_local_state(self) -> list:
        """The variables that each replica of a ``tf.distribute`` strategy updates from its own
        batches, so that replicas (and workers) disagree on them until they are averaged
        (``keras_inpaint.training`` does it after every epoch): both networks' BatchNormalization
        statistics, and the generator's moving average of its statistics (each replica moves
        its average towards its own). The moving average of the trainable weights is not here:
        those weights are the same on every replica."""
        networks = [self.backbone, self.discriminator]
        local = [v for net in networks for v in net.non_trainable_weights
                 if v.aggregation == "none" and "float" in str(v.dtype)]
        local_ids = {id(v) for v in local}
        return local + [average for weight, average in zip(self.backbone.weights, self.ema_weights)
                        if id(weight) in local_ids]

    def _update_ema(self):
        for weight, average in zip(self.backbone.weights, self.ema_weights):
            average.assign(self.ema_momentum * average + (1.0 - self.ema_momentum) * ops.cast(weight, average.dtype))

    # ------------------------------------------------------------------ compile
    def compile(self, g_optimizer="auto", d_optimizer="auto", jit_compile="auto", optimizer=None, loss=None,
                **kwargs):
        """Compile with two optimizers (``"auto"``: the model's own, see ``g_optimizer`` above).

        ``optimizer=`` and ``loss=`` of ``keras.Model.compile`` are refused: a GAN has two
        optimizers and its losses are the weighted terms set at construction. Under a
        ``mixed_float16`` policy both optimizers are wrapped in a
        ``keras.optimizers.LossScaleOptimizer``. ``jit_compile`` is passed to Keras
        (``"auto"``: XLA on a GPU, none on a CPU-only machine, where it is slower for these models).
        The generator's moving average (``ema_momentum``) restarts from its current weights.
        """
        if optimizer is not None and optimizer != "auto":
            raise ValueError("InpaintingGAN trains two networks: pass g_optimizer= and d_optimizer=, not optimizer=.")
        if loss is not None and loss != "auto":
            raise ValueError("InpaintingGAN's losses are its weighted terms (l1_hole_weight=..., ...), not loss=.")
        g_optimizer = keras.optimizers.deserialize(self.g_optimizer_config) if g_optimizer == "auto" \
            else keras.optimizers.get(g_optimizer)
        d_optimizer = keras.optimizers.deserialize(self.d_optimizer_config) if d_optimizer == "auto" \
            else keras.optimizers.get(d_optimizer)
        self.g_optimizer_config = _optimizer_config(g_optimizer, 1e-3)
        self.d_optimizer_config = _optimizer_config(d_optimizer, 1e-4)
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
        keras.Model.compile(self, optimizer=PairedOptimizer(g_optimizer, d_optimizer), loss=None,
                            jit_compile=jit_compile, **kwargs)
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

    def _weighted_sum(self, terms, tensors: StepTensors) -> tuple[Any, dict]:
        """(sum of weight x value, {name: value}) over ``terms``."""
        values = {term.name: term.compute(tensors) for term in terms}
        total = ops.zeros(())
        for term in terms:
            total = total + (1.0 if term.weight is None else getattr(self, term.weight)) * values[term.name]
        return total, values

    def _discriminator_loss(self, t: StepTensors, steps):
        """Fill ``t``'s logits (and R1's gradients if R1 is on); return (d_loss, {term: value})."""
        def judge_real(images):
            return discriminate(self.discriminator, images, t.masks, t.training)[0]

        if self.r1_gamma != 0.0:
            t.real_logits, t.real_gradients = steps.input_gradient(judge_real, t.images)
        else:
            t.real_logits = judge_real(t.images)
        t.fake_logits, _ = discriminate(self.discriminator, ops.stop_gradient(t.fake), t.masks, t.training)
        return self._weighted_sum(self.discriminator_terms, t)

    def _generator_loss(self, t: StepTensors):
        """Judge ``t.fake`` with the (updated) discriminator; return (g_loss, {term: value})."""
        t.fake_logits, t.fake_features = discriminate(self.discriminator, t.fake, t.masks, t.training)
        return self._weighted_sum(self.generator_terms, t)

    def _update_trackers(self, g_loss, d_loss, values: dict):
        for name, value in {"loss": g_loss + d_loss, "g_loss": g_loss, "d_loss": d_loss, **values}.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def _adversarial_step(self, data, steps):
        """One step of the algorithm; ``steps`` (:mod:`keras_inpaint.models.gan_steps`) takes the
        gradients the backend's way."""
        images, masks = self._unpack(data)
        # 1. Generate the fills (kept differentiable for step 3).
        fake, pullback = steps.forward(
            self.backbone, lambda: ops.cast(self.backbone(masked_input(images, masks), training=True), "float32"))
        tensors = StepTensors(self, images, fake, masks, training=True)
        # 2. Update the discriminator on real images and the generated batch.
        d_loss, d_values = steps.minimize(self.d_optimizer, self.discriminator,
                                          lambda: self._discriminator_loss(tensors, steps))
        # 3. Update the generator against the updated discriminator, through the fills of step 1.
        g_loss, g_values = steps.minimize_through(
            self.g_optimizer, self.backbone, pullback, fake,
            lambda fills: self._generator_loss(dataclasses.replace(tensors, fake=fills)))
        # 4. Move the generator's average and the trackers.
        self._update_ema()
        return self._update_trackers(g_loss, d_loss, {**d_values, **g_values})

    def _evaluation_step(self, data, steps):
        images, masks = self._unpack(data)
        fake = ops.cast(self.backbone(masked_input(images, masks), training=False), "float32")
        tensors = StepTensors(self, images, fake, masks, training=False)
        d_loss, d_values = self._discriminator_loss(tensors, steps)
        g_loss, g_values = self._generator_loss(tensors)
        return self._update_trackers(g_loss, d_loss, {**d_values, **g_values})

    def _stateless(self, state, step, training: bool):
        """JAX's ``fit`` calls ``train_step(state, data)`` with the values of the (trainable,
        non-trainable, optimizer, metrics) variables (``test_step``: no optimizer) and wants
        (logs, new state) back: run ``step`` with those values bound, then hand the new values
        back in the same layout."""
        groups = [self.trainable_variables, self.non_trainable_variables,
                  *([self.optimizer.variables] if training else []), self.metrics_variables]
        steps = JaxSteps([v for group in groups for v in group])
        logs, values = steps.run([value for group in state for value in group], lambda: step(steps))
        new_state, start = [], 0
        for group in groups:
            new_state.append(values[start:start + len(group)])
            start += len(group)
        return logs, tuple(new_state)

    def train_step(self, *args):
        """TensorFlow: ``train_step(data)``; JAX: ``train_step(state, data)`` (stateless)."""
        if keras.config.backend() == "jax":
            state, data = args
            return self._stateless(state, lambda steps: self._adversarial_step(data, steps), training=True)
        steps = TensorFlowSteps()
        return steps.logs(self._adversarial_step(args[0], steps))

    def test_step(self, *args):
        if keras.config.backend() == "jax":
            state, data = args
            return self._stateless(state, lambda steps: self._evaluation_step(data, steps), training=False)
        steps = TensorFlowSteps()
        return steps.logs(self._evaluation_step(args[0], steps))

    def fit(self, x=None, *args, **kwargs):
        """``keras.Model.fit`` itself. keras_hub's ``Task.fit`` rebuilds its input as a tf.data
        (or grain) dataset to map a preprocessor over it, which this model does not have: that
        step would fail on a ``tf.distribute`` dataset and would need TensorFlow or grain for
        NumPy arrays on JAX."""
        return keras.Model.fit(self, x, *args, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras's TensorFlow trainer, which under ``MultiWorkerMirroredStrategy`` (Keras 3.x,
        keras-team/keras#20585) fails to average a first batch of several tensors: here each
        tensor is averaged on its own."""
        strategy = getattr(self, "_distribute_strategy", None)
        if iterator is None or strategy is None or not is_multi_worker(strategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = mean_over_replicas(strategy, next(batches))
            break
        return super()._maybe_symbolic_build(data_batch=data_batch)

    # ------------------------------------------------------------ serialization
    def get_config(self):
        config = super().get_config()
        config.update({
            "discriminator": keras.layers.serialize(self.discriminator),
            "adversarial_loss": self.adversarial_loss,
            "mask_as_fake_target": self.mask_as_fake_target,
            **{name: getattr(self, name) for name in LOSS_WEIGHTS if name != "distillation_weight"},
            "perceptual_model": None if self.perceptual_model is None else keras.layers.serialize(self.perceptual_model),
            "boundary_width": self.boundary_width,
            "ema_momentum": self.ema_momentum,
            "g_optimizer": self.g_optimizer_config,
            "d_optimizer": self.d_optimizer_config,
            "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config):
        """keras-hub's ``Task.from_config``: nested models deserialised, then ``cls(**config)``.

        The teacher and its weight are never in a config (pass them again to continue a
        distillation run)."""
        config = dict(config)
        for key in ("backbone", "discriminator", "perceptual_model"):
            if isinstance(config.get(key), dict):
                config[key] = keras.layers.deserialize(config[key])
        return cls(**config)
