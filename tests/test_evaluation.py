import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_inpaint.evaluation import baseline_inpainter, evaluate, image_metrics, markdown_table


@pytest.fixture
def two_photos(tmp_path, sample_photo):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(sample_photo).save(folder / "cat.png")
    Image.fromarray(sample_photo[:, ::-1]).save(folder / "flipped.png")
    return folder


def test_image_metrics_by_hand():
    truth = np.full((16, 16, 3), 100, np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 1
    same = image_metrics(truth, truth, mask)
    assert same["psnr"] == pytest.approx(120.0) and same["ssim"] == pytest.approx(1.0) and same["l1_hole"] == 0.0
    result = truth.copy()
    result[mask == 1] = 151  # off by 51/255 = 0.2 in the hole only
    m = image_metrics(truth, result, mask)
    assert m["l1_hole"] == pytest.approx(0.2) and m["l1"] == pytest.approx(0.2 * 16 / 256)
    assert m["psnr_hole"] == pytest.approx(10 * np.log10(1 / 0.04), abs=1e-6)
    assert m["ssim_hole"] < m["ssim"] < 1.0


@pytest.mark.parametrize("name", ["telea", "navier_stokes", "biharmonic"])
def test_baselines_fill_only_the_hole(name, sample_photo):
    image = sample_photo[:64, :64]
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 1
    filled = baseline_inpainter(name)(image, mask)
    assert filled.dtype == np.uint8 and filled.shape == image.shape
    # A smooth fill from the border is much closer to the truth than black.
    assert np.abs(filled[mask == 1].astype(float) - image[mask == 1]).mean() < np.abs(image[mask == 1].astype(float)).mean() / 2


def test_evaluate_model_and_baselines_with_contact_sheet(two_photos, tmp_path):
    sheet = tmp_path / "sheet.png"
    result = evaluate("lama_tiny", str(two_photos), settings=("medium",), sizes=(64,), contact_sheet=str(sheet))
    assert result["images"] == 2
    assert set(result["summary"]) == {"model", "telea", "navier_stokes", "biharmonic"}
    assert len(result["rows"]) == 2 * 4
    for row in result["rows"]:
        assert 0 < row["hole_ratio"] <= 0.5 and row["psnr_hole"] < row["psnr"] and 0 < row["ssim"] <= 1
    # Every method saw the same holes.
    ratios = {(r["image"], r["method"]): r["hole_ratio"] for r in result["rows"]}
    assert len({v for (img, _), v in ratios.items() if img == "cat.png"}) == 1
    picture = np.asarray(Image.open(sheet))
    assert picture.shape[0] > 2 * 64 and picture.shape[1] > 6 * 64
    table = markdown_table(result)
    assert "| medium_64 | biharmonic |" in table and "| medium_64 | model |" in table


def test_quality_script_writes_json_table_and_sheet(two_photos, tmp_path):
    from benchmarks import quality

    out = tmp_path / "results"
    quality.main(["--preset", "lama_tiny", "--data", str(two_photos), "--out", str(out), "--sizes", "64",
                  "--settings", "thin", "--baselines", "telea"])
    data = json.loads((out / "lama_tiny.json").read_text())
    assert data["summary"]["model"]["thin_64"]["psnr_hole"] > 0
    assert (data["working_size"], data["blend"]) == (256, "poisson")  # lama_tiny's own settings
    assert (out / "lama_tiny.md").read_text().count("| thin_64 |") == 2
    assert os.path.getsize(out / "lama_tiny_contact_sheet.png") > 1000


def test_working_size_reaches_the_model_and_is_recorded(two_photos, tmp_path):
    from benchmarks import quality

    out = tmp_path / "results"
    args = ["--preset", "lama_tiny", "--data", str(two_photos), "--out", str(out), "--sizes", "64", "128",
            "--settings", "thick", "--baselines", "telea", "--blend", "none"]
    quality.main([*args, "--working-size", "0"])
    quality.main([*args, "--working-size", "64"])
    plain = json.loads((out / "lama_tiny_fullsize_pasted.json").read_text())
    working = json.loads((out / "lama_tiny_working64_pasted.json").read_text())
    assert plain["working_size"] is None and working["working_size"] == 64
    assert "working size 64" in (out / "lama_tiny_working64_pasted.md").read_text()
    # 64-px images are within the working size: same fill; 128-px ones are inpainted at 64.
    assert working["summary"]["model"]["thick_64"] == plain["summary"]["model"]["thick_64"]
    assert working["summary"]["model"]["thick_128"] != plain["summary"]["model"]["thick_128"]


def test_blend_reaches_the_model_and_is_recorded(two_photos, tmp_path):
    from benchmarks import quality

    out = tmp_path / "results"
    args = ["--preset", "lama_tiny", "--data", str(two_photos), "--out", str(out), "--sizes", "64",
            "--settings", "thick", "--baselines", "telea", "--working-size", "0"]
    quality.main([*args, "--blend", "none"])
    quality.main([*args, "--blend", "poisson"])
    plain = json.loads((out / "lama_tiny_fullsize_pasted.json").read_text())
    blended = json.loads((out / "lama_tiny_fullsize_poisson.json").read_text())
    assert plain["blend"] is None and blended["blend"] == "poisson"
    assert "poisson blending" in (out / "lama_tiny_fullsize_poisson.md").read_text()
    assert blended["summary"]["model"]["thick_64"] != plain["summary"]["model"]["thick_64"]
    assert blended["summary"]["telea"] == plain["summary"]["telea"]  # baselines are never blended
