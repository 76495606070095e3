"""A converted MI-GAN preset through ``Inpainter.inpaint`` against MI-GAN's own end-to-end code
(shared/fixtures/migan_reference: ``scripts/demo.py`` and ``MIGAN_Pipeline``, random weights).

``inpaint`` never changes a known pixel; MI-GAN's pipeline blends with a dilated, blurred mask
that also changes known pixels next to the hole and mixes the photo's own hole pixels into the
fill there, and truncates to uint8 where we round. So: hole pixels where the official blend
weight is 0 within 1 uint8 level, known pixels equal to the input, and the ring where the two
legitimately differ measured (README, "Bring your own checkpoint"). Measured on a CPU (TF 2.21):

* pipeline, padding 8 (a 64 x 64 crop, no resize): weight-0 hole pixels max 1 level (mean 0.87,
  truncation against rounding); ring: hole pixels up to 135 levels, known pixels up to 23.
* pipeline, padding 24 (an 84 x 84 crop shrunk to 64): max 1 level with the preset's
  ``mask_resize="nearest"`` (torchvision's rule); 6 levels with our default ``"any"``; 2 levels
  (mean 0.89) with ``image_resize="bicubic"``, the demo's resize, not the pipeline's antialiased
  bilinear: so the converter writes the pipeline's settings and keeps ``"area"``.
* demo (the whole shrunk 48 x 64 image resized to 64 x 64 and back, bicubic both ways, the mask by
  PIL's nearest): through ``inpaint`` with ``image_resize="bicubic"`` and
  ``mask_resize="nearest_exact"`` on the converted preset, hole pixels within 2 levels (mean 0.86;
  2 of the 193 pixels at 2), the rest truncation against rounding: the same pipeline with the demo's
  truncation to uint8 between generator and resize back is within 1 level (mean 0.26). With
  ``image_resize="area"``: mean 0.90, 12 pixels at 2 (2 levels, mean 0.53, with truncation), the
  generator's input up to 12 levels off the demo's (0.5 with bicubic: its uint8 rounding). The mask
  rule matters most: the preset's own ``"nearest"`` (the pipeline's) gives 8 levels (mean 2.4),
  ``"any"`` 6 with area resizes, 10 with bicubic ones. ``inpaint`` keeps rounding: the library
  does not reproduce the demo's truncation.
"""

import os

import numpy as np
import pytest

from keras_inpaint import Inpainter
from keras_inpaint.convert import convert_checkpoint
from keras_inpaint.pipeline import composite, fill_holes, shrink, to_levels

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "migan_reference")

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(FIXTURES, "io.npz")),
                                reason=f"MI-GAN reference fixtures not found at {os.path.normpath(FIXTURES)}")


@pytest.fixture(scope="module")
def io():
    with np.load(os.path.join(FIXTURES, "io.npz")) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("migan")
    with np.load(os.path.join(FIXTURES, "weights.npz")) as archive:
        np.savez(folder / "migan_64.npz", **{k: archive[k] for k in archive.files})
    convert_checkpoint(str(folder / "migan_64.npz"), str(folder / "preset"))
    return str(folder / "preset")


def official_blend_weight(known: np.ndarray) -> np.ndarray:
    """MIGAN_Pipeline's weight of the photo in its blend, from the fixture README: the known mask
    (0/255) dilated by a 3x3 max-pool, blurred by the 5x5 taps exp(-((i-2)/2)^2) exp(-((j-2)/2)^2)
    (normalised, reflect padding 2), / 255."""
    k = known.astype(np.float64)
    h, w = k.shape
    padded = np.pad(k, 1, constant_values=-np.inf)
    dilated = np.max([padded[i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=0)
    taps = np.exp(-(((np.arange(5) - 2) / 2.0) ** 2))
    taps = np.outer(taps, taps) / np.outer(taps, taps).sum()
    reflected = np.pad(dilated, 2, mode="reflect")
    return sum(taps[i, j] * reflected[i : i + h, j : j + w] for i in range(5) for j in range(5)) / 255.0


def test_converter_writes_migans_pipeline_settings(preset, io):
    model = Inpainter.from_preset(preset)
    assert (model.hd_strategy, model.crop_margin, model.mask_resize, model.image_resize, model.blend) == (
        "crop", 128, "nearest", "area", None)
    assert model.generator.input_size == 64  # the official layout takes R x R only
    hole = io["e2e_mask_uint8"] < 255
    for padding in (8, 24):  # MI-GAN's crop box, (x_min, x_max, y_min, y_max) in the fixture
        x0, x1, y0, y1 = io[f"e2e_pipeline_pad{padding}_bbox"]
        assert model.plan(io["e2e_image_uint8"], hole, crop_margin=padding).crops == [[(y0, y1, x0, x1)]]


@pytest.mark.parametrize("padding, ring_hole, ring_known", [(8, 135, 23), (24, 131, 20)])
def test_pipeline_is_reproduced_where_it_does_not_blend(preset, io, padding, ring_hole, ring_known):
    image, known = io["e2e_image_uint8"], io["e2e_mask_uint8"]
    hole = known < 255
    ours = Inpainter.from_preset(preset, crop_margin=padding).inpaint(image, hole)
    official = io[f"e2e_pipeline_pad{padding}_result"]
    x0, x1, y0, y1 = io[f"e2e_pipeline_pad{padding}_bbox"]
    weight = np.ones(hole.shape)
    weight[y0:y1, x0:x1] = official_blend_weight(known[y0:y1, x0:x1])
    diff = np.abs(ours.astype(int) - official.astype(int)).max(axis=-1)
    filled, ring = weight == 0, (weight > 0) & (weight < 1)
    assert filled.sum() == 352 and hole[filled].all()
    assert diff[filled].max() <= 1  # truncation (theirs) against rounding (ours)
    np.testing.assert_array_equal(ours[~hole], image[~hole])  # ours never changes a known pixel
    assert diff[~filled & ~ring].max() == 0  # theirs neither, outside the blend's ring
    assert diff[ring & hole].max() == ring_hole and diff[ring & ~hole].max() == ring_known  # measured


def test_nearest_mask_resize_is_what_makes_the_shrunk_crop_match(preset, io):
    image, known = io["e2e_image_uint8"], io["e2e_mask_uint8"]
    ours = Inpainter.from_preset(preset, crop_margin=24, mask_resize="any").inpaint(image, known < 255)
    x0, x1, y0, y1 = io["e2e_pipeline_pad24_bbox"]
    filled = np.zeros(known.shape, bool)
    filled[y0:y1, x0:x1] = official_blend_weight(known[y0:y1, x0:x1]) == 0
    diff = np.abs(ours.astype(int) - io["e2e_pipeline_pad24_result"].astype(int)).max(axis=-1)
    assert diff[filled].max() == 6  # our default mask rule keeps thin hole parts the nearest rule drops
    ours = Inpainter.from_preset(preset, crop_margin=24, image_resize="bicubic").inpaint(image, known < 255)
    diff = np.abs(ours.astype(int) - io["e2e_pipeline_pad24_result"].astype(int)).max(axis=-1)
    assert diff[filled].max() == 2  # the demo's bicubic shrink is not the pipeline's: the converter keeps area


def demo_differences(filled: np.ndarray, official: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Per hole pixel, the largest uint8 level difference over the three channels."""
    return np.abs(filled.astype(int) - official.astype(int)).max(axis=-1)[hole]


def test_demo_through_inpaint_and_with_bicubic_resizes(preset, io):
    image, known, official = io["e2e_demo_image_resized"], io["e2e_demo_mask_resized"], io["e2e_demo_composite"]
    hole = known < 255
    demo = Inpainter.from_preset(preset, image_resize="bicubic", mask_resize="nearest_exact")
    ours = demo.inpaint(image, hole)
    np.testing.assert_array_equal(ours[~hole], image[~hole])  # the demo's composite keeps them too
    diff = demo_differences(ours, official, hole)
    assert diff.max() == 2 and (diff == 2).sum() == 2 and diff.mean() < 0.87
    area = Inpainter.from_preset(preset, mask_resize="nearest_exact").inpaint(image, hole)
    diff = demo_differences(area, official, hole)
    assert diff.max() == 2 and (diff == 2).sum() == 12 and diff.mean() > 0.89  # area is the worse one
    for mask_resize, levels in (("nearest", 8), ("any", 10)):  # the demo's mask rule matters most
        other = Inpainter.from_preset(preset, image_resize="bicubic", mask_resize=mask_resize).inpaint(image, hole)
        assert demo_differences(other, official, hole).max() == levels

    # The generator's input: the demo's mask pixels exactly, its uint8 image within rounding.
    photo, holes = image[None].astype(np.float32) / 255, hole[None, ..., None].astype(np.float32)
    model_input = io["e2e_demo_model_input"]  # [known - 0.5, image * known], NCHW
    demo_known = model_input[0, 0] > 0
    demo_image = (model_input[0, 1:].transpose(1, 2, 0) + 1) * 127.5
    for image_resize, levels in (("bicubic", 0.5), ("area", 12)):
        small, small_hole = shrink(photo, holes, (64, 64), "nearest_exact", image_resize)
        np.testing.assert_array_equal(np.asarray(small_hole)[0, ..., 0] == 0, demo_known)
        off = np.abs(np.asarray(small)[0] * 255 - demo_image)[demo_known].max()
        assert levels - 1e-3 < off < levels + 1e-3

    # The last level is the demo's truncation to uint8 before its resize back, where we round:
    # the same pipeline with a generator whose output is truncated so is within 1 level.
    generator = demo.generator

    def truncating(x):
        out = np.clip(np.asarray(generator(x, training=False)) * 0.5 + 0.5, 0, 1)
        return np.floor(out * 255) / 127.5 - 1

    for image_resize, levels, mean in (("bicubic", 1, 0.26), ("area", 2, 0.54)):
        fill = fill_holes(photo, holes, truncating, generator.size_multiple, None, demo.pad_mode, False,
                          generator.input_size, "nearest_exact", image_resize)
        filled = np.asarray(composite(to_levels(fill), image[None].astype(np.float32), holes))[0]
        diff = demo_differences(filled, official, hole)
        assert diff.max() == levels and mean - 0.01 < diff.mean() < mean
