"""The HD strategies of Inpainter.inpaint (crop / resize / original / auto), the crop geometry and
the memory guard. Peak memory of the crop path is measured by benchmarks/hd_strategy.py."""

import json
import shutil

import numpy as np
import pytest

from keras_inpaint import Inpainter, InpaintInputError, LamaGenerator
from keras_inpaint import hd_strategy
from keras_inpaint.crops import context_box, crop_boxes, hole_boxes
from keras_inpaint.models import registry


@pytest.fixture(scope="module")
def small():
    """A small untrained LaMa at working size 32, Poisson-blended: every step of the pipeline, fast."""
    return Inpainter(LamaGenerator(base_filters=8, num_blocks=1), working_size=32, blend="poisson")


def _photo(h, w, seed=0):
    ys, xs = np.mgrid[0:h, 0:w]
    smooth = np.stack([xs / w, ys / h, (xs + ys) / (h + w)], -1) * 200
    noise = np.random.default_rng(seed).integers(0, 40, (h, w, 3))
    return (smooth + noise).astype(np.uint8)


def _rows(hole):
    return lambda y0, y1: hole[y0:y1]


def test_hole_boxes_are_tight_and_separate_distant_holes():
    hole = np.zeros((100, 120), bool)
    hole[10:14, 5:9] = True
    hole[60:80, 90:101] = True
    hole[61, 40] = True
    assert sorted(hole_boxes(_rows(hole), 100, 120)) == [(10, 14, 5, 9), (60, 80, 90, 101), (61, 62, 40, 41)]
    assert hole_boxes(_rows(np.zeros((9, 9), bool)), 9, 9) == []


def test_context_box_is_migans_crop_rule():
    # MI-GAN's MIGAN_Pipeline on the fixture's mask (holes in rows 30..59, columns 50..85), resolution 64:
    # padding 8 -> x 35..99, y 12..76; padding 24 -> x 25..109, y 2..86 (an 84 x 84 crop).
    assert context_box((30, 60, 50, 86), (90, 120), 8, square=True, min_side=64) == (12, 76, 35, 99)
    assert context_box((30, 60, 50, 86), (90, 120), 24, square=True, min_side=64) == (2, 86, 25, 109)
    # Shifted inside the photo at an edge, never larger than the photo, never cutting the hole.
    assert context_box((0, 4, 0, 4), (100, 100), 10, square=True, min_side=32) == (0, 32, 0, 32)
    assert context_box((0, 50, 0, 90), (60, 100), 50, square=True) == (0, 60, 0, 100)
    assert context_box((5, 6, 5, 6), (20, 20), 0) == (5, 6, 5, 6)


def test_overlapping_crops_merge_and_distant_ones_stay_apart():
    near = crop_boxes([(10, 20, 10, 20), (10, 20, 40, 50)], (200, 400), margin=16)
    assert len(near) == 1 and near[0][1] == (10, 20, 10, 50)
    far = crop_boxes([(10, 20, 10, 20), (150, 160, 350, 360)], (200, 400), margin=16)
    assert len(far) == 2
    (a, _), (b, _) = far
    assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]  # disjoint


def test_crop_covering_the_photo_equals_the_whole_photo_strategies(small):
    image = _photo(48, 64)
    mask = np.zeros((48, 64), np.uint8)
    mask[20:30, 25:40] = 1
    for working_size, whole in ((None, "original"), (32, "resize")):
        cropped = small.inpaint(image, mask, working_size=working_size, hd_strategy="crop", crop_margin=100)
        np.testing.assert_array_equal(cropped, small.inpaint(image, mask, working_size=working_size, hd_strategy=whole))


@pytest.mark.parametrize("strategy", ["crop", "resize", "original", "auto"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_known_pixels_exact_and_dtype_kept_for_every_strategy(small, strategy, dtype):
    image = _photo(70, 90)
    image = image if dtype == np.uint8 else image.astype(np.float64) / 255.0
    mask = np.zeros((70, 90), bool)
    mask[5:15, 5:20] = True
    mask[50:66, 60:85] = True
    out = small.inpaint(image, mask, hd_strategy=strategy, crop_margin=8)
    assert out.dtype == image.dtype and out.shape == image.shape
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert np.abs(out[mask].astype(float) - image[mask]).max() > 0  # something was filled


def test_distant_holes_are_filled_in_separate_crops(small, monkeypatch):
    image = _photo(120, 200)
    mask = np.zeros((120, 200), np.uint8)
    mask[10:20, 10:25] = 1
    mask[95:110, 170:190] = 1
    seen = []
    fill_holes = hd_strategy.fill_holes
    monkeypatch.setattr(hd_strategy, "fill_holes", lambda images, *a, **k: seen.append(images.shape) or fill_holes(images, *a, **k))
    out = small.inpaint(image[None], mask[None], hd_strategy="crop", crop_margin=8, working_size=None)
    assert len(seen) == 2 and all(s[1] * s[2] < 40 * 40 for s in seen)  # two small crops, not the photo
    np.testing.assert_array_equal(out[0][mask == 0], image[mask == 0])


def test_auto_crops_large_photos_only(small):
    settings = hd_strategy.Settings(None, 8, None, 256, "reflect", None, 128, 1.0)
    assert hd_strategy.resolve("auto", 1000, 1000, settings) == "resize"
    assert hd_strategy.resolve("auto", 4000, 3000, settings) == "crop"
    no_working = hd_strategy.Settings(None, 8, None, None, "reflect", None, 128, 1.0)
    assert hd_strategy.resolve("auto", 100, 100, no_working) == "original"
    assert hd_strategy.resolve("resize", 4000, 3000, settings) == "resize"


def test_guard_refuses_in_one_line_before_allocating(small, monkeypatch):
    image = _photo(60, 80)
    mask = np.zeros((60, 80), np.uint8)
    mask[10:20, 10:20] = 1
    called = []
    monkeypatch.setattr(hd_strategy.CallerBatch, "whole_frames", lambda self: called.append(1))  # never reached
    monkeypatch.setattr(hd_strategy, "fill_holes", lambda *a, **k: called.append(1))
    with pytest.raises(InpaintInputError) as error:
        small.inpaint(image, mask, hd_strategy="original", max_memory_gb=0.01)
    message = str(error.value)
    assert "\n" not in message and "80x60" in message and "0.0 MP" in message
    assert "max_memory_gb" in message and "--max-memory-gb" in message and "GB" in message
    assert not called
    monkeypatch.setattr(hd_strategy, "available_memory_bytes", lambda: 1e6)  # "auto": what is available now
    with pytest.raises(InpaintInputError, match="memory available now"):
        small.inpaint(image, mask, hd_strategy="crop")
    assert not called


def test_guard_estimate_grows_with_the_photo_not_the_hole_for_crop():
    settings = hd_strategy.Settings(None, 8, None, 256, "reflect", None, 128, 2000.0)

    def estimate(side, strategy):
        batch = hd_strategy.CallerBatch(np.empty((1, side, side, 3), np.uint8), np.zeros((1, side, side), bool), False)
        crops = [[(0, 300, 0, 300)]] if strategy == "crop" else None
        return hd_strategy.estimate_peak_bytes(strategy, batch, settings, 8, crops)

    assert estimate(8000, "resize") > 8 * 2**30 and estimate(8000, "crop") < 2**30
    assert estimate(8000, "crop") - estimate(4000, "crop") == 3 * (8000**2 - 4000**2)  # the output copy alone


def test_presets_without_the_new_settings_load_with_defaults(tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(registry.preset_dir("lama_tiny"), folder)
    task = json.load(open(folder / "task.json"))
    for key in ("hd_strategy", "crop_margin"):
        del task["config"][key]
    json.dump(task, open(folder / "task.json", "w"))
    model = Inpainter.from_preset(str(folder))
    assert (model.hd_strategy, model.crop_margin) == ("auto", hd_strategy.DEFAULT_CROP_MARGIN)
    assert Inpainter.from_preset(str(folder), hd_strategy="crop", crop_margin=64).get_config()["crop_margin"] == 64
    with pytest.raises(ValueError, match="unknown hd_strategy"):
        Inpainter.from_preset(str(folder), hd_strategy="tile")
    with pytest.raises(ValueError, match="crop_margin"):
        Inpainter.from_preset(str(folder), crop_margin=-1)


def test_cli_options_reach_inpaint(tmp_path, sample_photo, capsys):
    from PIL import Image

    from keras_inpaint.cli import main

    image_path, mask_path = tmp_path / "in.png", tmp_path / "mask.png"
    Image.fromarray(sample_photo).save(image_path)
    mask = np.zeros(sample_photo.shape[:2], np.uint8)
    mask[50:90, 60:140] = 255
    Image.fromarray(mask).save(mask_path)
    common = ["inpaint", str(image_path), "--mask", str(mask_path)]
    assert main(common + ["--hd-strategy", "crop", "-o", str(tmp_path / "crop.png")]) == 0
    cropped = np.asarray(Image.open(tmp_path / "crop.png"))
    np.testing.assert_array_equal(cropped[mask == 0], sample_photo[mask == 0])
    assert main(common + ["--max-memory-gb", "0.01", "-o", str(tmp_path / "x.png")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "451x300" in line and "--max-memory-gb" in line and not (tmp_path / "x.png").exists()
    assert main(common + ["--max-memory-gb", "0", "-o", str(tmp_path / "unchecked.png")]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(common + ["--max-memory-gb", "-1", "-o", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2
