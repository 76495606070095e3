import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_inpaint.cli import main


def test_inpaint_sample_photo_writes_grid(tmp_path):
    out = tmp_path / "demo.png"
    assert main(["inpaint", "--auto-mask", "medium", "--grid", "-o", str(out)]) == 0
    picture = np.asarray(Image.open(out))
    assert picture.shape[1] > 3 * 451 and picture.shape[2] == 3


def test_inpaint_with_mask_file_keeps_known_pixels(tmp_path, sample_photo):
    image_path, mask_path, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    Image.fromarray(sample_photo).save(image_path)
    mask = np.zeros(sample_photo.shape[:2], np.uint8)
    mask[50:90, 60:140] = 255
    Image.fromarray(mask).save(mask_path)
    assert main(["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out)]) == 0
    result = np.asarray(Image.open(out))
    np.testing.assert_array_equal(result[mask == 0], sample_photo[mask == 0])
    small = tmp_path / "small.png"
    assert main(["inpaint", str(image_path), "--mask", str(mask_path), "--working-size", "128", "-o", str(small)]) == 0
    small_result = np.asarray(Image.open(small))
    np.testing.assert_array_equal(small_result[mask == 0], sample_photo[mask == 0])
    assert np.abs(small_result.astype(int) - result.astype(int)).max() > 10  # filled at 128 px, then enlarged
    pasted = tmp_path / "pasted.png"
    assert main(["inpaint", str(image_path), "--mask", str(mask_path), "--blend", "none", "--working-size", "0",
                 "-o", str(pasted)]) == 0
    pasted_result = np.asarray(Image.open(pasted))
    np.testing.assert_array_equal(pasted_result[mask == 0], sample_photo[mask == 0])
    assert np.abs(pasted_result.astype(int) - result.astype(int)).max() > 0  # the preset blends by default


def test_bad_working_size_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["inpaint", "--auto-mask", "thin", "--working-size", "-3", "-o", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2


def test_user_errors_exit_1_with_one_line(tmp_path, capsys):
    assert main(["inpaint", "--auto-mask", "thin", "--preset", "lama_tinny", "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown preset 'lama_tinny'" in err[0] and "lama_tiny" in err[0]
    with pytest.raises(SystemExit) as exit_info:  # a missing option is a usage error
        main(["inpaint", "-o", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2 and "--auto-mask" in capsys.readouterr().err
    assert main(["inpaint", str(tmp_path / "missing.jpg"), "--auto-mask", "thin", "-o", str(tmp_path / "x.png")]) == 1
    assert "cannot read image" in capsys.readouterr().err


def test_usage_error_exits_2():
    result = subprocess.run([sys.executable, "-m", "keras_inpaint", "inpaint", "--auto-mask", "huge", "-o", "x.png"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "invalid choice: 'huge'" in result.stderr


def test_readme_test_command_is_what_ci_runs():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    ci = open(os.path.join(root, ".ci", "run"), encoding="utf-8").read()
    command = ".venv/bin/python -m pytest -q -n 2 --dist loadfile tests"
    assert f"\n{command}\n" in readme and ci.rstrip().endswith(command)


def test_readme_install_is_what_ci_installs():
    """The extras the README's set-up installs are CI's (the [serve] extra's tests run in both)."""
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    ci = open(os.path.join(root, ".ci", "run"), encoding="utf-8").read()
    install = re.compile(r'pip install -q "(\.\[[a-z,]+\])"')
    assert install.findall(readme)[:1] == install.findall(ci) == ['.[test,serve]']


def test_export_refuses_to_overwrite_and_writes_saved_model(tmp_path, capsys):
    target = tmp_path / "exported"
    target.mkdir()
    assert main(["export", str(target)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / "saved_model.pb").exists()


def test_readonly_output_directory_is_reported(tmp_path, capsys):
    readonly = tmp_path / "ro"
    readonly.mkdir()
    os.chmod(readonly, 0o500)
    try:
        if os.access(readonly, os.W_OK):
            pytest.skip("running as root: directory permissions do not bind")
        assert main(["inpaint", "--auto-mask", "thin", "-o", str(readonly / "x.png")]) == 1
        assert "not writable" in capsys.readouterr().err
    finally:
        os.chmod(readonly, 0o700)


def test_failed_write_reports_and_keeps_the_existing_file(tmp_path, monkeypatch, capsys):
    import errno

    from PIL import Image as PILImage

    target = tmp_path / "x.png"
    target.write_bytes(b"the user's earlier result")
    real_save = PILImage.Image.save

    def read_only_file_system(self, fp, *args, **kwargs):
        with open(fp, "wb") as f:
            f.write(b"half a png")
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(PILImage.Image, "save", read_only_file_system)
    assert main(["inpaint", "--auto-mask", "thin", "-o", str(target)]) == 1  # exists: --overwrite needed
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["inpaint", "--auto-mask", "thin", "--overwrite", "-o", str(target)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write" in err[0] and "Read-only file system" in err[0]
    assert target.read_bytes() == b"the user's earlier result"
    assert os.listdir(tmp_path) == ["x.png"]
    monkeypatch.setattr(PILImage.Image, "save", real_save)
    assert main(["inpaint", "--auto-mask", "thin", "-o", str(tmp_path / "y.jpg")]) == 0
    assert PILImage.open(tmp_path / "y.jpg").format == "JPEG"


def test_inpaint_a_folder_never_overwrites(tmp_path, sample_photo, capsys):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    Image.fromarray(sample_photo[:50, :70]).save(photos / "a.jpg")
    Image.fromarray(sample_photo[:64, :64]).save(photos / "sub" / "b.png")
    out = tmp_path / "out"
    assert main(["inpaint", str(photos), "--auto-mask", "thin", "-o", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["a.png", "sub"] and os.listdir(out / "sub") == ["b.png"]
    assert np.asarray(Image.open(out / "a.png")).shape == (50, 70, 3)
    before = (out / "a.png").read_bytes()
    assert main(["inpaint", str(photos), "--auto-mask", "thin", "--seed", "5", "-o", str(out)]) == 1
    assert "exists (and 1 more); pass --overwrite" in capsys.readouterr().err
    assert (out / "a.png").read_bytes() == before
    os.remove(out / "sub" / "b.png")  # a run cut short: --skip-existing does the rest only
    assert main(["inpaint", str(photos), "--auto-mask", "thin", "--seed", "5", "--skip-existing", "-o", str(out)]) == 0
    assert (out / "a.png").read_bytes() == before and (out / "sub" / "b.png").exists()
    assert main(["inpaint", str(photos), "--auto-mask", "thin", "--seed", "5", "--overwrite", "-o", str(out)]) == 0
    assert (out / "a.png").read_bytes() != before


def test_train_refuses_an_existing_run_unless_resumed(tmp_path, photo_folder, capsys):
    out = tmp_path / "run"
    args = ["train", photo_folder, "--preset", "pix2pix_tiny", "--out", str(out), "--steps-per-epoch", "2",
            "--image-size", "32", "--batch-size", "2", "--masks", "thin", "--lr-schedule", "cosine",
            "--ssim-weight", "3", "--boundary-weight", "2.5", "--jit", "off",
            "--teacher", "pix2pix_tiny", "--distillation-weight", "1"]
    with pytest.warns(UserWarning, match="RANDOM weights"):  # the untrained built-in teacher and student
        assert main(args + ["--epochs", "1"]) == 0
    assert json.loads(open(out / "log.jsonl").readline())["distillation"] > 0
    gan_config = json.load(open(out / "preset" / "task.json"))["config"]
    assert gan_config["ssim_weight"] == 3.0 and gan_config["boundary_weight"] == 2.5
    assert gan_config["l1_hole_weight"] == 100.0  # flags not given keep the family's weights (pix2pix: 100)
    assert main(args + ["--epochs", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds a training run" in err[0] and "--resume" in err[0]
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    log = [line for line in open(out / "log.jsonl")]
    assert len(log) == 2


def test_diverged_training_is_one_line_pointing_at_resume(tmp_path, monkeypatch, capsys):
    import keras_inpaint.training

    def diverges(*args, **kwargs):
        raise RuntimeError("NaN or Inf found in loss at batch 7")

    monkeypatch.setattr(keras_inpaint.training, "train", diverges)
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "training diverged" in err[0] and "--resume" in err[0] and "batch 7" in err[0]


def test_cli_defaults_are_the_librarys():
    """argparse defaults come from the library's own signatures, never from copies."""
    import inspect

    from keras_inpaint import evaluate, training
    from keras_inpaint.cli import build_parser

    def defaults(function):
        return {k: p.default for k, p in inspect.signature(function).parameters.items()}

    train = build_parser().parse_args(["train", "photos", "--out", "run"])
    expected = defaults(training.train)
    for name in ("epochs", "steps_per_epoch", "image_size", "batch_size", "seed", "masks", "lr_schedule"):
        assert getattr(train, name) == expected[name], name
    assert (train.lr, train.d_lr) == (expected["g_learning_rate"], expected["d_learning_rate"]) == (None, None)
    evaluation = build_parser().parse_args(["evaluate", "photos"])
    assert tuple(evaluation.sizes) == tuple(defaults(evaluate)["sizes"])
    assert tuple(evaluation.baselines) == tuple(defaults(evaluate)["baselines"])


def test_benchmark_is_no_verb_of_the_installed_command(tmp_path):
    """The wheel does not ship benchmarks/: the verb is gone (README: python -m benchmarks.run
    from a checkout). Run from outside the checkout, as an installed user would."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "keras_inpaint.cli", "benchmark"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'benchmark'" in result.stderr


def test_data_errors_are_one_line_and_leave_nothing_behind(tmp_path, capsys):
    empty, broken, out = tmp_path / "empty", tmp_path / "broken", tmp_path / "run"
    empty.mkdir()
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"not a photo")
    for args, expected in [(["train", str(empty), "--out", str(out)], "no images found"),
                           (["train", str(broken), "--out", str(out)], "none of the 1 images"),
                           (["evaluate", str(empty)], "no images found")]:
        assert main(args) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("keras-inpaint: error:") and expected in err[0], err
    assert not out.exists()


def test_train_into_an_unwritable_folder_is_one_line(unwritable_folder, photo_folder, capsys):
    assert main(["train", photo_folder, "--out", os.path.join(unwritable_folder, "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write the run directory" in err[0], err


@pytest.mark.parametrize("interruption, code, word", [(KeyboardInterrupt, 130, "interrupted"),
                                                       ("Terminated", 143, "terminated")])
def test_an_interrupted_verb_exits_128_plus_the_signal_with_one_line(tmp_path, monkeypatch, capsys, interruption,
                                                                      code, word):
    import keras_inpaint.training
    from keras_inpaint import interrupts

    interruption = getattr(interrupts, interruption) if isinstance(interruption, str) else interruption

    def interrupted(*args, **kwargs):
        raise interruption()

    monkeypatch.setattr(keras_inpaint.training, "train", interrupted)
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "run")]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"keras-inpaint: {word}; no epoch had finished, so there is nothing to resume"]
