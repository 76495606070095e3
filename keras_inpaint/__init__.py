"""keras_inpaint: a Keras 3 model zoo of image-inpainting GANs.

>>> import keras_inpaint
>>> model = keras_inpaint.Inpainter.from_preset("pix2pix_tiny")      # doctest: +SKIP
>>> filled = model.inpaint(image_uint8, mask)                          # doctest: +SKIP
"""

from keras_inpaint import _backend  # noqa: F401  (selects the TensorFlow backend first)
from keras_inpaint import data, losses, masks
from keras_inpaint.convert import convert_checkpoint
from keras_inpaint.evaluation import evaluate
from keras_inpaint.errors import InpaintInputError, PresetError
from keras_inpaint.hub import upload_preset
from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.models.inpainting_gan import InpaintingGAN
from keras_inpaint.models.networks import InpaintingDiscriminator, InpaintingGenerator
from keras_inpaint.models.deepfill_v2 import DeepFillV2Generator, SNPatchGANDiscriminator
from keras_inpaint.models.lama import LamaDiscriminator, LamaGenerator
from keras_inpaint.models.migan import MiganDiscriminator, MiganGenerator
from keras_inpaint.models.pconv import PConvGenerator
from keras_inpaint.models.patchgan import PatchGANDiscriminator
from keras_inpaint.models.pix2pix import Pix2PixGenerator
from keras_inpaint.models.preset_loading import count_parameters, list_presets
from keras_inpaint.version import __version__

__all__ = [
    "DeepFillV2Generator",
    "Inpainter",
    "InpaintingGAN",
    "InpaintingDiscriminator",
    "InpaintingGenerator",
    "InpaintInputError",
    "LamaDiscriminator",
    "LamaGenerator",
    "MiganDiscriminator",
    "MiganGenerator",
    "PConvGenerator",
    "PatchGANDiscriminator",
    "Pix2PixGenerator",
    "PresetError",
    "SNPatchGANDiscriminator",
    "__version__",
    "convert_checkpoint",
    "count_parameters",
    "data",
    "evaluate",
    "list_presets",
    "losses",
    "masks",
    "upload_preset",
]
