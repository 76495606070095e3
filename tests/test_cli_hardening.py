"""The command line as a new user meets it, through the real ``keras-inpaint`` in subprocesses:
usage errors exit 2 from the parser, data and runtime errors exit 1 with one line, nothing is
overwritten unless asked, no stray files, no native log lines.

Cases that fail before a model is built cost a fraction of a second each (no TensorFlow import);
the few that run a model cost a TensorFlow start-up each.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = [sys.executable, "-m", "keras_inpaint.cli"]


def run_cli(*args, cwd, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # quiet without help from outside
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([*PROGRAM, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def assert_one_line_error(result, code: int, *fragments: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    error_lines = [line for line in lines if "error:" in line]
    assert len(error_lines) == 1, lines
    assert all(f in error_lines[0] for f in fragments), error_lines[0]
    if code == 1:
        assert len(lines) == 1, lines  # nothing but the one line


@pytest.fixture
def workspace(tmp_path, sample_photo):
    """photo.png (300x451), mask.png (a white rectangle = hole), an empty folder, a regular file."""
    Image.fromarray(sample_photo).save(tmp_path / "photo.png")
    mask = np.zeros(sample_photo.shape[:2], np.uint8)
    mask[100:160, 150:260] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    return tmp_path


USAGE_ERRORS = [
    (["inpaint", "photo.png", "-o", "out.png"], "--auto-mask"),
    (["inpaint", "photo.png", "--mask", "mask.png", "-o", "photo.png"], "is the IMAGE file"),
    (["inpaint", "photo.png", "--mask", "mask.png", "-o", "mask.png"], "is the --mask file"),
    (["inpaint", "photo.png", "--auto-mask", "thin", "-o", "o.png", "--overwrite", "--skip-existing"], "not allowed with"),
    (["inpaint", "--auto-mask", "thin", "-o", "o.png", "--working-size", "-3"], "--working-size"),
    (["train", "empty", "--out", "run", "--batch-size", "0"], "--batch-size"),
    (["train", "empty", "--out", "run", "--image-size", "0"], "--image-size"),
    (["train", "empty", "--out", "run", "--epochs", "0"], "--epochs"),
    (["train", "empty", "--out", "run", "--masks", "bogus"], "--masks"),
    (["train", "empty", "--out", "run", "--lr", "-1"], "--lr"),
    (["train", "empty", "--out", "run", "--ema", "1.5"], "--ema"),
    (["evaluate", "empty", "--sizes", "0"], "--sizes"),
    (["evaluate", "empty", "--baselines", "photoshop"], "--baselines"),
    (["export", "m.tflite", "--format", "tflite"], "--size"),
    (["convert", "x.pt", "out", "--family", "stylegan"], "--family"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--max-upload-mb", "0"], "--max-upload-mb"),
]


@pytest.mark.parametrize("args,fragment", USAGE_ERRORS, ids=[" ".join(a[:1] + a[-2:]) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_2_from_the_parser(workspace, args, fragment):
    result = run_cli(*args, cwd=workspace, timeout=60)
    assert_one_line_error(result, 2, fragment)
    assert not (workspace / "run").exists() and not (workspace / "o.png").exists()


DATA_ERRORS = [
    (["inpaint", "empty", "--auto-mask", "thin", "-o", "results"], "no images in"),
    (["inpaint", "missing.png", "--auto-mask", "thin", "-o", "o.png"], "no such file"),
    (["inpaint", "photo.png", "--mask", "empty", "-o", "o.png"], "is a folder; give one mask image"),
    (["inpaint", "photo.png", "--auto-mask", "thin", "-o", "a_file/o.png"], "is a file, not a folder"),
    (["inpaint", "photo.png", "--auto-mask", "thin", "-o", "empty"], "is a folder; give a file path"),
    (["evaluate", "empty", "--baselines"], "no images"),
    (["evaluate", "photo.png", "--json", "a_file/r.json"], "is a file, not a folder"),
    (["export", "a_file"], "exists"),
    (["export", "a_file/model"], "is a file, not a folder"),
    (["serve", "--preset", "lama_tinny"], "unknown preset 'lama_tinny'"),
]


@pytest.mark.parametrize("args,fragment", DATA_ERRORS, ids=[" ".join(a[:2]) + " " + a[-1] for a, _ in DATA_ERRORS])
def test_data_errors_are_one_line_exit_1_and_leave_nothing(workspace, args, fragment):
    before = sorted(os.listdir(workspace))
    result = run_cli(*args, cwd=workspace, timeout=120)
    assert_one_line_error(result, 1, fragment)
    assert sorted(os.listdir(workspace)) == before and os.listdir(workspace / "empty") == []


def test_inpaint_is_quiet_refuses_to_overwrite_and_overwrites_when_asked(workspace):
    result = run_cli("inpaint", "photo.png", "--mask", "mask.png", "-o", "out.png", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no TensorFlow / CUDA / absl lines
    assert result.stdout.strip().splitlines() == ["wrote out.png (451x300, 4.9% hole, preset lama_tiny)"]
    first = (workspace / "out.png").read_bytes()
    again = run_cli("inpaint", "photo.png", "--mask", "mask.png", "-o", "out.png", cwd=workspace, timeout=60)
    assert_one_line_error(again, 1, "out.png exists", "--overwrite")
    assert (workspace / "out.png").read_bytes() == first
    forced = run_cli("inpaint", "photo.png", "--auto-mask", "thick", "-o", "out.png", "--overwrite", cwd=workspace)
    assert forced.returncode == 0 and (workspace / "out.png").read_bytes() != first


def test_one_mask_file_serves_a_folder_and_skip_existing_finishes_a_run(workspace, sample_photo):
    photos = workspace / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(np.roll(sample_photo, 30 * i, axis=1)).save(photos / f"p{i}.png")
    first = run_cli("inpaint", "photos", "--mask", "mask.png", "-o", "results", cwd=workspace)
    assert first.returncode == 0, first.stderr
    assert sorted(os.listdir(workspace / "results")) == ["p0.png", "p1.png", "p2.png"]
    mask = np.asarray(Image.open(workspace / "mask.png")) > 127
    for i in range(3):  # the same mask for each: known pixels of each photo unchanged
        out = np.asarray(Image.open(workspace / "results" / f"p{i}.png"))
        np.testing.assert_array_equal(out[~mask], np.roll(sample_photo, 30 * i, axis=1)[~mask])
    os.remove(workspace / "results" / "p1.png")
    kept = (workspace / "results" / "p0.png").stat().st_mtime_ns
    rest = run_cli("inpaint", "photos", "--mask", "mask.png", "-o", "results", "--skip-existing", cwd=workspace)
    assert rest.returncode == 0 and "skipping 2 existing" in rest.stdout
    assert (workspace / "results" / "p1.png").exists() and (workspace / "results" / "p0.png").stat().st_mtime_ns == kept


def test_help_imports_no_tensorflow_for_any_verb(workspace):
    code = ("import sys, contextlib, io\nfrom keras_inpaint.cli import main\n"
            "for verb in ([], ['inpaint'], ['presets'], ['train'], ['evaluate'], ['upload'], ['export'], ['convert'],\n"
            "             ['serve']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        main([*verb, '--help'])\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_hub', 'starlette', 'uvicorn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_every_option_is_documented(workspace):
    from keras_inpaint.cli import build_parser

    parser = build_parser()
    verbs = next(a for a in parser._actions if a.dest == "verb").choices
    for name, verb in verbs.items():
        for action in verb._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
