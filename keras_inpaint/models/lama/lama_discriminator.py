"""LaMa's discriminator: the NLayer PatchGAN with 4 stride-2 layers, padding 2 and biases."""

from __future__ import annotations

import keras

from keras_inpaint.models.patchgan import PatchGANDiscriminator


@keras.saving.register_keras_serializable(package="keras_inpaint")
class LamaDiscriminator(PatchGANDiscriminator):
    """``NLayerDiscriminator(ndf=64, n_layers=4)`` of LaMa (6,962,369 parameters at ndf 64).

    The shared :class:`PatchGANDiscriminator` with LaMa's defaults (padding 2, biases beside
    BatchNorm): (N, H, W, 3) in [-1, 1] -> ``[logits (N, h, w, 1), features]``; the features
    feed LaMa's feature-matching loss. LaMa's ``saicinpainting/training/modules/pix2pixhd.py``
    caps filters at 512 and judges images in [0, 1]: the converter sets ``max_filters=512`` and
    ``unit_range_input=True`` so that official weights compute LaMa's function.
    """

    def __init__(self, base_filters: int = 64, num_layers: int = 4, padding: int = 2, bias_with_norm: bool = True,
                 **kwargs):
        super().__init__(base_filters=base_filters, num_layers=num_layers, padding=padding,
                         bias_with_norm=bias_with_norm, **kwargs)
