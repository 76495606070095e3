"""Export an Inpainter for serving: a TensorFlow SavedModel with a uint8 signature, and TFLite."""

from __future__ import annotations

import os

import keras
import tensorflow as tf


def _reflect_pad(x, h, w, multiple):
    """Reflect-pad (N,H,W,C) at the bottom and right to sides >= 2 * multiple that divide by it.

    The graph twin of :func:`keras_inpaint.inputs.pad_to_multiple` (same minimum, the same
    repeated reflection as ``numpy.pad(mode="reflect")``), so that a 1×1 or 5×7 image is
    served like :meth:`Inpainter.inpaint` serves it; ``tf.pad``'s REFLECT needs the pad to be
    smaller than the side.
    """
    def indices(side):
        target = tf.maximum(side, 2 * multiple)
        target = target + (-target) % multiple
        period = tf.maximum(2 * side - 2, 1)
        phase = tf.range(target) % period
        return tf.where(phase < side, phase, period - phase)

    return tf.gather(tf.gather(x, indices(h), axis=1), indices(w), axis=2)


def serving_function(inpainter):
    """``serve(image uint8 (N,H,W,3), mask uint8 (N,H,W,1), 1 = hole) -> uint8 (N,H,W,3)``.

    Pads bottom/right by reflection (see :func:`_reflect_pad`), runs the model, crops back
    and composites, so known pixels come back unchanged. Any H and W, 1×1 included.
    """
    multiple = inpainter.backbone.size_multiple

    def serve(image, mask):
        h, w = tf.shape(image)[1], tf.shape(image)[2]
        hole = tf.cast(tf.cast(mask, tf.float32) > 0.5, tf.float32)
        x = tf.cast(image, tf.float32) / 127.5 - 1.0
        out = inpainter({"images": _reflect_pad(x, h, w, multiple), "masks": _reflect_pad(hole, h, w, multiple)},
                        training=False)
        filled = tf.round(tf.clip_by_value((out[:, :h, :w, :] + 1.0) * 127.5, 0.0, 255.0))
        # Composite in float (exact for 0..255) so that TFLite needs no uint8 select.
        return tf.cast(hole * filled + (1.0 - hole) * tf.cast(image, tf.float32), tf.uint8)

    return serve


def export_saved_model(inpainter, path: str) -> str:
    """Write a SavedModel whose ``serve`` signature takes uint8 image + mask (see :func:`serving_function`)."""
    archive = keras.export.ExportArchive()
    archive.track(inpainter)
    archive.add_endpoint(
        name="serve",
        fn=serving_function(inpainter),
        input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8, name="image"),
                         tf.TensorSpec((None, None, None, 1), tf.uint8, name="mask")],
    )
    archive.write_out(path, verbose=False)
    return path


def with_matmul_fft(inpainter):
    """The same Inpainter with its Fourier units computing DFTs by matrix products (same weights)."""
    from keras_inpaint.models.inpainter import Inpainter

    config = inpainter.backbone.get_config()
    if config.get("fft_implementation", "matmul") == "matmul":
        return inpainter
    generator = type(inpainter.backbone).from_config({**config, "fft_implementation": "matmul"})
    generator.set_weights(inpainter.backbone.get_weights())
    return Inpainter(generator)


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
