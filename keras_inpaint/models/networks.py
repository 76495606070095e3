"""Base classes for generators and discriminators of the zoo."""

from __future__ import annotations

import keras
from keras_hub.models import Backbone


@keras.saving.register_keras_serializable(package="keras_inpaint")
class InpaintingGenerator(Backbone):
    """Base class of every generator: a keras-hub ``Backbone`` (functional model).

    Input: (N, H, W, 4) float, the masked image in [-1, 1] (holes set to 0) concatenated
    with the mask (1 in the hole). Output: (N, H, W, 3) float32 in [-1, 1].
    H and W must be multiples of :attr:`size_multiple`; ``Inpainter.inpaint`` pads for you.

    Subclasses build their graph, call ``super().__init__(inputs=..., outputs=...,
    size_multiple=...)`` and return their constructor arguments from ``get_config``.
    """

    def __init__(self, *args, size_multiple: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.size_multiple = int(size_multiple)

    @property
    def input_size(self) -> int | None:
        """The one side S of the S x S inputs a generator was made for, or None (any size).

        ``Inpainter.inpaint`` resizes what it fills to S x S for such a generator."""
        return None


class InpaintingDiscriminator(keras.Model):
    """Base class of every discriminator: a functional ``keras.Model``.

    Input: (N, H, W, 3) images in [-1, 1], or (N, H, W, 4) images with their mask when the
    family judges both. Output: ``[logits (N, h, w, 1) float32, [feature maps]]``; the
    feature maps serve feature matching.

    Subclasses build their graph, call ``super().__init__(inputs=..., outputs=...)``, keep
    each constructor argument as an attribute and name them in :attr:`config_keys`.
    """

    config_keys: tuple[str, ...] = ()

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **{k: getattr(self, k) for k in self.config_keys}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def generator_inputs(channels: int = 4) -> keras.KerasTensor:
    """The (None, None, channels) input of a fully convolutional generator."""
    return keras.Input(shape=(None, None, channels), name="masked_image_and_mask")
