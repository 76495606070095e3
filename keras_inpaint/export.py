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


def _working_shape(h, w, working_size: int):
    """The graph twin of :func:`keras_inpaint.working_size.working_shape` (same rounding)."""
    longer = tf.cast(tf.maximum(h, w), tf.float64)
    scale = tf.minimum(float(working_size) / longer, 1.0)

    def side(length):
        return tf.maximum(tf.cast(tf.round(tf.cast(length, tf.float64) * scale), tf.int32), 1)

    return side(h), side(w)


def serving_function(inpainter, working_size: int | None = None):
    """``serve(image uint8 (N,H,W,3), mask uint8 (N,H,W,1), 1 = hole) -> uint8 (N,H,W,3)``.

    With ``working_size``, images whose longer side exceeds it are area-downscaled to it, filled
    and the fill bilinearly enlarged, as :meth:`Inpainter.inpaint` does
    (:mod:`keras_inpaint.working_size`). Pads bottom/right by reflection (see
    :func:`_reflect_pad`), runs the model, crops back and composites, so known pixels come back
    unchanged. Any H and W, 1×1 included. Poisson blending is not part of the graph.
    """
    multiple = inpainter.backbone.size_multiple

    def fill(x, hole, h, w):
        """The model's output in [-1, 1] for x in [-1, 1] (N,h,w,3) and hole (N,h,w,1)."""
        out = inpainter({"images": _reflect_pad(x, h, w, multiple), "masks": _reflect_pad(hole, h, w, multiple)},
                        training=False)
        return out[:, :h, :w, :]

    def serve(image, mask):
        h, w = tf.shape(image)[1], tf.shape(image)[2]
        hole = tf.cast(tf.cast(mask, tf.float32) > 0.5, tf.float32)
        if working_size is None:
            filled = (fill(tf.cast(image, tf.float32) / 127.5 - 1.0, hole, h, w) + 1.0) * 127.5
        else:
            small_h, small_w = _working_shape(h, w, working_size)

            def shrunk():
                photo = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (small_h, small_w), method="area")
                small_hole = tf.cast(tf.image.resize(hole, (small_h, small_w), method="area") > 0, tf.float32)
                prediction = (fill(photo * 2.0 - 1.0, small_hole, small_h, small_w) + 1.0) / 2.0
                return tf.image.resize(prediction, (h, w), method="bilinear") * 255.0

            def full_size():
                return (fill(tf.cast(image, tf.float32) / 127.5 - 1.0, hole, h, w) + 1.0) * 127.5

            filled = tf.cond(tf.logical_and(tf.equal(small_h, h), tf.equal(small_w, w)), full_size, shrunk)
        filled = tf.round(tf.clip_by_value(filled, 0.0, 255.0))
        # Composite in float (exact for 0..255) so that TFLite needs no uint8 select.
        return tf.cast(hole * filled + (1.0 - hole) * tf.cast(image, tf.float32), tf.uint8)

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
