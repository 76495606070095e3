"""Export an Inpainter for serving: a TensorFlow SavedModel with a uint8 signature, and TFLite."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from keras_inpaint.models.inpainter import Inpainter
from keras_inpaint.pipeline import composite, fill_holes, from_levels, to_levels


def serving_function(inpainter, working_size: int | None = None):
    """``serve(image uint8 (N,H,W,3), mask uint8 (N,H,W,1), 1 = hole) -> uint8 (N,H,W,3)``.

    The steps of :meth:`Inpainter.inpaint` (:mod:`keras_inpaint.pipeline`: working size, the
    preset's padding, the generator, crop, enlarge, composite) traced into a graph, so known
    pixels come back unchanged and any H and W work, 1×1 included. Poisson blending is not
    part of the graph.
    """
    def run_generator(x):
        return inpainter.backbone(x, training=False)

    def serve(image, mask):
        hole = tf.cast(tf.cast(mask, tf.float32) > 0.5, tf.float32)
        photo = tf.cast(image, tf.float32)
        fill = fill_holes(from_levels(image), hole, run_generator, inpainter.backbone.size_multiple, working_size,
                          inpainter.pad_mode, input_size=inpainter.backbone.input_size,
                          mask_resize=inpainter.mask_resize, image_resize=inpainter.image_resize)
        return tf.cast(composite(to_levels(fill), photo, hole), tf.uint8)

    return serve


def export_saved_model(inpainter, path: str, working_size: int | None | str = "auto") -> str:
    """Write a SavedModel whose ``serve`` signature takes uint8 image + mask (see :func:`serving_function`).

    ``working_size="auto"`` keeps the model's own setting (``inpainter.working_size``, from its
    preset); ``None`` serves at full resolution.
    """
    working_size = inpainter.working_size if working_size == "auto" else working_size
    archive = keras.export.ExportArchive()
    archive.track(inpainter)
    archive.add_endpoint(
        name="serve",
        fn=serving_function(inpainter, working_size),
        input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8, name="image"),
                         tf.TensorSpec((None, None, None, 1), tf.uint8, name="mask")],
    )
    archive.write_out(path, verbose=False)
    return path


def with_matmul_fft(inpainter):
    """The same Inpainter with its Fourier units computing DFTs by matrix products (same weights)."""
    config = inpainter.backbone.get_config()
    if config.get("fft_implementation", "matmul") == "matmul":
        return inpainter
    generator = type(inpainter.backbone).from_config({**config, "fft_implementation": "matmul"})
    generator.set_weights(inpainter.backbone.get_weights())
    return Inpainter(generator, pad_mode=inpainter.pad_mode, mask_resize=inpainter.mask_resize,
                     image_resize=inpainter.image_resize)


def export_tflite(inpainter, path: str, height: int, width: int) -> str:
    """Convert to a TFLite flatbuffer for a fixed (1, height, width) uint8 input, built-in ops only.

    The FFTs of Fourier-convolution models (which break ONNX/TensorRT exports of the
    official LaMa) are replaced by DFT matrix products (:func:`with_matmul_fft`), so the
    flatbuffer needs neither complex tensors nor the Flex delegate.
    """
    import tempfile

    inpainter = with_matmul_fft(inpainter)
    with tempfile.TemporaryDirectory() as staging:
        # Through a SavedModel: converting a concrete function that closes over Keras 3
        # variables directly gave uninitialised weights in the flatbuffer (measured).
        archive = keras.export.ExportArchive()
        archive.track(inpainter)
        archive.add_endpoint(name="serve", fn=serving_function(inpainter), input_signature=[
            tf.TensorSpec((1, height, width, 3), tf.uint8, name="image"),
            tf.TensorSpec((1, height, width, 1), tf.uint8, name="mask")])
        archive.write_out(staging, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(staging, signature_keys=["serve"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return path
