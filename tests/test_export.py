import numpy as np
import pytest
import tensorflow as tf

from keras_inpaint import Inpainter, LamaGenerator
from keras_inpaint.export import export_saved_model, export_tflite, serving_function, with_matmul_fft


@pytest.fixture
def small_lama():
    return Inpainter(LamaGenerator(base_filters=8, num_blocks=1))


def _photo_and_mask(sample_photo, h, w):
    image = sample_photo[:h, :w]
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : h // 2, w // 3 : 2 * w // 3] = 1
    return image, mask


def test_saved_model_serving_signature_matches_keras(small_lama, sample_photo, tmp_path):
    export_saved_model(small_lama, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    # Not multiples of 8 (padded inside the graph), and smaller than the padding itself.
    for h, w in [(45, 70), (5, 7), (1, 1)]:
        image, mask = _photo_and_mask(sample_photo, h, w)
        mask[h // 2, w // 2] = 1
        served = loaded.serve(tf.constant(image[None]), tf.constant(mask[None, ..., None])).numpy()[0]
        assert served.dtype == np.uint8 and served.shape == (h, w, 3)
        np.testing.assert_array_equal(served, small_lama.inpaint(image, mask), err_msg=f"{h}x{w}")


def test_saved_model_carries_the_working_size(sample_photo, tmp_path):
    model = Inpainter(LamaGenerator(base_filters=8, num_blocks=1), working_size=32)
    export_saved_model(model, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    # Shrunk (longer side 70 -> 32, 45 -> 21 rounding), exactly at the working size, and smaller.
    for h, w in [(45, 70), (32, 20), (9, 13)]:
        image, mask = _photo_and_mask(sample_photo, h, w)
        served = loaded.serve(tf.constant(image[None]), tf.constant(mask[None, ..., None])).numpy()[0]
        np.testing.assert_array_equal(served, model.inpaint(image, mask), err_msg=f"{h}x{w}")
    image, mask = _photo_and_mask(sample_photo, 45, 70)
    served = loaded.serve(tf.constant(image[None]), tf.constant(mask[None, ..., None])).numpy()[0]
    full_size = model.inpaint(image, mask, working_size=None)
    assert np.abs(served.astype(int) - full_size.astype(int)).max() > 1  # the working size did something
    export_saved_model(model, str(tmp_path / "full"), working_size=None)
    loaded = tf.saved_model.load(str(tmp_path / "full"))
    served = loaded.serve(tf.constant(image[None]), tf.constant(mask[None, ..., None])).numpy()[0]
    np.testing.assert_array_equal(served, full_size)


def test_serving_graph_carries_the_image_resize():
    """The SavedModel's ``serve`` function, traced with dynamic sizes as export does (not written
    out, to keep this quick), resizes as the model's ``image_resize`` says: bit for bit ``inpaint``
    with bicubic resizes, and 309 of the 9450 values one level off the default resizes (this
    random generator's fill is smooth, so the two resizes differ little)."""
    generator = LamaGenerator(base_filters=8, num_blocks=1)
    model = Inpainter(generator, working_size=32, image_resize="bicubic", mask_resize="nearest_exact")
    serve = tf.function(serving_function(model, model.working_size), input_signature=[
        tf.TensorSpec((None, None, None, 3), tf.uint8), tf.TensorSpec((None, None, None, 1), tf.uint8)])
    image = np.random.default_rng(0).integers(0, 256, (45, 70, 3)).astype(np.uint8)
    mask = np.zeros((45, 70), np.uint8)
    mask[10:35, 15:55] = 1
    served = serve(tf.constant(image[None]), tf.constant(mask[None, ..., None])).numpy()[0]
    np.testing.assert_array_equal(served, model.inpaint(image, mask))
    area = Inpainter(generator, working_size=32, mask_resize="nearest_exact").inpaint(image, mask)
    assert (served != area).sum() > 100  # bicubic, not the default resizes


def test_matmul_dft_model_matches_fft_model(small_lama):
    x = np.random.default_rng(0).uniform(-1, 1, (1, 40, 56, 4)).astype(np.float32)
    clone = with_matmul_fft(small_lama)
    assert clone.backbone.get_config()["fft_implementation"] == "matmul"
    np.testing.assert_allclose(np.asarray(clone.backbone(x)), np.asarray(small_lama.backbone(x)), atol=1e-4)


def test_tflite_with_builtin_ops_only_matches_keras(small_lama, sample_photo, tmp_path):
    image, mask = _photo_and_mask(sample_photo, 40, 56)
    path = export_tflite(small_lama, str(tmp_path / "model.tflite"), 40, 56)
    runner = tf.lite.Interpreter(path).get_signature_runner("serve")  # fails if Flex ops were needed
    out = list(runner(image=image[None], mask=mask[None, ..., None]).values())[0][0]
    reference = small_lama.inpaint(image, mask)
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])
    assert np.abs(out.astype(int) - reference.astype(int)).max() <= 1


def test_uint8_to_unit_float_is_the_same_in_a_graph():
    """The SavedModel reads uint8 through a table: dividing by 255 in a graph is rewritten into a
    product with 1/255, a float32 step off numpy's quotient for about a third of the levels."""
    from keras_inpaint.pipeline import from_levels

    levels = np.arange(256, dtype=np.uint8)
    traced = tf.function(from_levels, input_signature=[tf.TensorSpec((None,), tf.uint8)])
    np.testing.assert_array_equal(traced(tf.constant(levels)).numpy(), levels.astype(np.float32) / 255.0)


def test_saved_model_matches_the_resize_strategy_bit_for_bit_at_a_large_odd_size(sample_photo, tmp_path):
    """Dividing by 255 inside the graph put 1 pixel of this photo 1 level off (3 at 2560 x 1600)."""
    from PIL import Image

    model = Inpainter.from_preset("lama_tiny")
    export_saved_model(model, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    image = np.asarray(Image.fromarray(sample_photo).resize((1503, 1001), Image.BICUBIC))
    _, mask = _photo_and_mask(image, 1001, 1503)
    served = loaded.serve(tf.constant(image[None]), tf.constant(mask[None, ..., None])).numpy()[0]
    np.testing.assert_array_equal(served, model.inpaint(image, mask, blend=None, hd_strategy="resize"))
