"""The backend-specific part of ``InpaintingGAN``'s training step: how gradients are taken.

``InpaintingGAN`` describes its step once (generate, update the discriminator, update the
generator through the same fills, move the average) in terms of four operations, implemented
here twice:

* ``forward(model, fn)``: run ``fn()`` (a forward pass of ``model``) so that a later
  ``minimize_through`` can differentiate through its output to ``model``'s weights;
* ``minimize(optimizer, model, loss_fn)``: one optimizer step on ``model``'s trainable weights
  for ``loss_fn() -> (loss, logs)``;
* ``minimize_through(optimizer, model, pullback, output, loss_fn)``: one optimizer step on
  ``model`` for ``loss_fn(output) -> (loss, logs)``, through ``forward``'s output;
* ``input_gradient(fn, x)``: ``fn(x)`` and the gradient of its sum with respect to ``x``
  (R1's gradient of the real logits).

:class:`TensorFlowSteps` uses ``tf.GradientTape`` (the tape of ``forward`` is reopened by
``minimize_through``). :class:`JaxSteps` is stateless, as JAX's ``fit`` requires: the whole step
runs inside a ``keras.StatelessScope`` that holds every variable's value, and each gradient is a
``jax.vjp`` / ``jax.grad`` of a function that rebinds the differentiated weights in a nested scope;
updates of non-trainable state made inside (BatchNorm statistics, seeds) come out as auxiliary
values and are assigned in the outer scope, where optimizers, averages and metrics update too.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
from keras import ops

LossFn = Callable[[], tuple[Any, dict]]


class TensorFlowSteps:
    """Gradients by ``tf.GradientTape``; losses divided by the replicas of the ``tf.distribute``
    strategy (each replica's gradients are summed across replicas)."""

    def __init__(self):
        import tensorflow as tf

        self.tf = tf
        strategy = tf.distribute.get_strategy()
        self.replicas = strategy.num_replicas_in_sync
        self.multi_worker = is_multi_worker(strategy)

    def logs(self, logs: dict) -> dict:
        """``logs`` as Keras's ``fit`` can reduce them across replicas.

        Under ``MultiWorkerMirroredStrategy`` Keras (3.x, keras-team/keras#20585) averages every
        logged value over its axis 0, which a scalar lacks: each becomes a vector of one element,
        and the logged value is the mean over the workers.
        """
        return {k: ops.reshape(v, (1,)) for k, v in logs.items()} if self.multi_worker else logs

    def forward(self, model, fn: Callable[[], Any]):
        tape = self.tf.GradientTape()
        with tape:
            output = fn()
        return output, tape

    def minimize(self, optimizer, model, loss_fn: LossFn):
        with self.tf.GradientTape() as tape:
            loss, logs = loss_fn()
            scaled = optimizer.scale_loss(loss / self.replicas)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return loss, logs

    def minimize_through(self, optimizer, model, pullback, output, loss_fn: Callable[[Any], tuple[Any, dict]]):
        with pullback:  # the tape of forward(), reopened: the loss joins the recorded forward pass
            loss, logs = loss_fn(output)
            scaled = optimizer.scale_loss(loss / self.replicas)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(pullback.gradient(scaled, variables), variables))
        return loss, logs

    def input_gradient(self, fn: Callable[[Any], Any], x):
        with self.tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            total = ops.sum(y)
        return y, tape.gradient(total, x)


def is_multi_worker(strategy) -> bool:
    """Whether ``strategy`` is a ``tf.distribute.MultiWorkerMirroredStrategy`` across processes."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) \
        and strategy.extended._in_multi_worker_mode()


def mean_over_replicas(strategy, batch):
    """Each distributed tensor of ``batch`` (a nest) averaged over the replicas, the other
    leaves as they are: Keras's example batch for building a model under ``strategy``, which
    ``MultiWorkerMirroredStrategy.reduce`` only takes one tensor at a time."""
    import tensorflow as tf

    return keras.tree.map_structure(
        lambda v: strategy.reduce("MEAN", v, axis=None) if isinstance(v, tf.distribute.DistributedValues) else v,
        batch)


class JaxSteps:
    """Gradients by ``jax.vjp`` / ``jax.grad`` inside the stateless scope of :meth:`run`."""

    def __init__(self, variables: Sequence[keras.Variable]):
        import jax

        self.jax = jax
        self.variables = list(variables)

    # ------------------------------------------------------------------ scopes
    def run(self, values: Sequence[Any], step: Callable[[], Any]):
        """Run ``step()`` with ``self.variables`` holding ``values``; return (its result, the
        variables' values afterwards)."""
        with keras.StatelessScope(state_mapping=list(zip(self.variables, values))) as scope:
            result = step()
        after = [scope.get_current_value(v) for v in self.variables]
        return result, [new if new is not None else old for new, old in zip(after, values)]

    def _rebound(self, model, trainable_values, fn):
        """``fn()`` with ``model``'s trainable weights bound to ``trainable_values`` (tracers) and
        every other variable to its current value (``model=None``: every variable); returns
        (result, {variable id: new value} of the other variables that ``fn`` updated), so that
        no update made inside a JAX transformation escapes it."""
        trainable_variables = [] if model is None else model.trainable_variables
        trainable = {id(v) for v in trainable_variables}
        mapping = [(v, v.value) for v in self.variables if id(v) not in trainable]
        mapping += list(zip(trainable_variables, trainable_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            result = fn()
        updates = {}
        for v, old in mapping:
            if id(v) in trainable:
                continue
            new = scope.get_current_value(v)
            if new is not None and new is not old:
                updates[id(v)] = new
        return result, updates

    def _assign(self, updates: dict) -> None:
        for v in self.variables:
            if id(v) in updates:
                v.assign(updates[id(v)])

    def _current(self, model):
        return [v.value for v in model.trainable_variables]

    def _apply(self, optimizer, model, grads) -> None:
        """One step of ``optimizer`` on ``model`` by its ``stateless_apply``, the new values
        assigned in the enclosing scope. (``optimizer.apply`` would assign inside the branches of
        ``LossScaleOptimizer``'s ``ops.cond``, which JAX refuses: a value would leak out of the
        traced branch; the stateless form returns the values of both branches instead.)"""
        variables = model.trainable_variables
        new_weights, new_state = optimizer.stateless_apply(
            [v.value for v in optimizer.variables], grads, [v.value for v in variables])
        for variable, value in zip(variables, new_weights):
            variable.assign(value)
        for variable, value in zip(optimizer.variables, new_state):
            variable.assign(value)

    # -------------------------------------------------------------- operations
    def forward(self, model, fn: Callable[[], Any]):
        def pure(trainable_values):
            return self._rebound(model, trainable_values, fn)

        output, pullback, updates = self.jax.vjp(pure, self._current(model), has_aux=True)
        self._assign(updates)
        return output, pullback

    def minimize(self, optimizer, model, loss_fn: LossFn):
        def pure(trainable_values):
            (loss, logs), updates = self._rebound(model, trainable_values, loss_fn)
            return optimizer.scale_loss(loss), (loss, logs, updates)

        grads, (loss, logs, updates) = self.jax.grad(pure, has_aux=True)(self._current(model))
        self._assign(updates)
        self._apply(optimizer, model, grads)
        return loss, logs

    def minimize_through(self, optimizer, model, pullback, output, loss_fn: Callable[[Any], tuple[Any, dict]]):
        def pure(output):
            (loss, logs), updates = self._rebound(model, self._current(model), lambda: loss_fn(output))
            return optimizer.scale_loss(loss), (loss, logs, updates)

        output_grads, (loss, logs, updates) = self.jax.grad(pure, has_aux=True)(output)
        self._assign(updates)
        (grads,) = pullback(output_grads)
        self._apply(optimizer, model, grads)
        return loss, logs

    def input_gradient(self, fn: Callable[[Any], Any], x):
        def pure(x):
            return self._rebound(None, [], lambda: fn(x))

        y, pullback, updates = self.jax.vjp(pure, x, has_aux=True)
        self._assign(updates)
        (gradient,) = pullback(ops.ones_like(y))
        return y, gradient


class PairedOptimizer(keras.optimizers.Optimizer):
    """The generator's and the discriminator's optimizers as the single ``model.optimizer`` that
    Keras's trainers know: its variables are both optimizers' (so that JAX's stateless ``fit``
    carries both states in and out of every step), its iterations and learning rate are the
    generator's (what callbacks report). ``InpaintingGAN`` applies each optimizer itself."""

    def __init__(self, generator_optimizer, discriminator_optimizer, name: str = "gan_optimizers", **kwargs):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.built = True

    def build(self, var_list):
        self.built = True  # each optimizer is built over its own network by InpaintingGAN.compile

    @property
    def variables(self):
        return self.generator_optimizer.variables + self.discriminator_optimizer.variables

    @property
    def iterations(self):
        return self.generator_optimizer.iterations

    @property
    def learning_rate(self):
        return self.generator_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if hasattr(self, "generator_optimizer"):  # the base class sets 0.0 before the optimizers exist
            self.generator_optimizer.learning_rate = value

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError("InpaintingGAN applies its generator and discriminator optimizers itself.")

    def get_config(self):
        return {"name": self.name, "generator_optimizer": keras.optimizers.serialize(self.generator_optimizer),
                "discriminator_optimizer": keras.optimizers.serialize(self.discriminator_optimizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(keras.optimizers.deserialize(config["generator_optimizer"], custom_objects),
                   keras.optimizers.deserialize(config["discriminator_optimizer"], custom_objects), name=config["name"])
