"""The command line as a new user meets it, through the real ``keras-inpaint`` in subprocesses:
usage errors exit 2 from the parser, data and runtime errors exit 1 with one line, nothing is
overwritten unless asked, no stray files, no native log lines; and Ctrl-C (SIGINT) and SIGTERM
sent to real ``train``, ``evaluate`` and folder ``inpaint`` processes: they stop within seconds,
report one line, exit 130 / 143 and keep what they finished (``train --resume`` continues). Every
wait has a deadline, so a process that hangs fails its test instead of blocking the run.

Cases that fail before a model is built cost a fraction of a second each (no TensorFlow import);
the few that run a model cost a TensorFlow start-up each.
"""

import json
import os
import signal
import subprocess
import sys
import time

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


# ------------------------------------------------------------------ signals
START_SECONDS = 240  # to the first checkpoint / output: imports, model building, tracing on a busy CPU
STOP_SECONDS = 20  # from the signal to the exit code; measured 1-6 s on a shared 2-core CPU


def start(args, workdir, *, python=None):
    """The CLI (or a ``python -c`` script) in a child process; stdout and stderr go to files."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    command = [sys.executable, "-c", python] if python else [sys.executable, "-m", "keras_inpaint.cli", *args]
    stdout = open(os.path.join(workdir, "stdout.txt"), "w")
    stderr = open(os.path.join(workdir, "stderr.txt"), "w")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
        # A test runner started in the background (`pytest &`) ignores SIGINT, and so would the
        # child, which then gets no KeyboardInterrupt at all: restore the default first.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    process.stderr_path = stderr.name
    stdout.close()
    stderr.close()
    return process


def wait_until(condition, process, what):
    deadline = time.monotonic() + START_SECONDS
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"exited ({process.returncode}) before {what}: {open(process.stderr_path).read()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {START_SECONDS} s")
        time.sleep(0.05)


def interrupt(process, signum):
    """Send ``signum``; the exit code and the seconds it took to exit."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        code = process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_SECONDS} s after {signal.Signals(signum).name}")
    return code, time.monotonic() - sent


def report_line(process) -> str:
    """The process's one ``keras-inpaint:`` line; no traceback (TF's own log lines are not judged)."""
    err = open(process.stderr_path).read()
    assert "Traceback" not in err and "Exception ignored" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.startswith("keras-inpaint:")]
    assert len(lines) == 1 and err.rstrip().endswith(lines[0]), err[-3000:]
    return lines[0]


def stray_files(folder):
    return [os.path.join(root, name) for root, dirs, files in os.walk(folder) for name in files + dirs
            if "partial" in name or name.endswith(".previous")]


@pytest.fixture
def kill_leftovers():
    processes = []
    yield processes.append
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def photos(tmp_path_factory, sample_photo):
    """Thirty real photos (shifted copies of the 451x300 sample photo): enough work that a signal
    sent when the first is done lands in the middle of the run."""
    folder = tmp_path_factory.mktemp("photos")
    for i in range(30):
        Image.fromarray(np.roll(sample_photo, 15 * i, axis=1)).save(folder / f"p{i:02d}.png")
    return str(folder)


def checkpoint_epoch(run) -> int:
    with open(os.path.join(run, "backup", "checkpoint.json"), encoding="utf-8") as f:
        return json.load(f)["epoch"]


def test_train_stops_on_sigint_and_sigterm_and_resumes(tmp_path, photos, kill_leftovers):
    import h5py

    run = str(tmp_path / "run")
    train = ["train", photos, "--preset", "lama_tiny", "--out", run, "--image-size", "32", "--batch-size", "2",
             "--steps-per-epoch", "2", "--jit", "off"]
    checkpoint = os.path.join(run, "backup", "checkpoint.json")
    timings = {}

    # Ctrl-C just after the first checkpoint is committed (while the preset is being saved).
    (tmp_path / "1").mkdir()
    process = start([*train, "--epochs", "1000"], tmp_path / "1")
    kill_leftovers(process)
    wait_until(lambda: os.path.exists(checkpoint), process, "first checkpoint")
    code, timings["SIGINT"] = interrupt(process, signal.SIGINT)
    assert code == 130
    line = report_line(process)
    first = checkpoint_epoch(run)
    assert line == f"keras-inpaint: interrupted; {run} keeps epoch {first} of 1000: continue with --resume"
    assert not stray_files(run)
    with h5py.File(os.path.join(run, "backup", f"epoch_{first:04d}.weights.h5"), "r") as weights:
        assert len(weights.keys()) > 0

    # SIGTERM in the resumed run, once it has committed an epoch of its own.
    (tmp_path / "2").mkdir()
    process = start([*train, "--epochs", "1000", "--resume"], tmp_path / "2")
    kill_leftovers(process)
    wait_until(lambda: checkpoint_epoch(run) > first, process, "a checkpoint after the resume")
    code, timings["SIGTERM"] = interrupt(process, signal.SIGTERM)
    assert code == 143
    assert report_line(process).startswith("keras-inpaint: terminated;")
    second = checkpoint_epoch(run)
    assert not stray_files(run)

    # The second resume finishes: one log line per epoch, none run twice, none lost.
    (tmp_path / "3").mkdir()
    process = start([*train, "--epochs", str(second + 1), "--resume"], tmp_path / "3")
    kill_leftovers(process)
    assert process.wait(timeout=START_SECONDS) == 0, open(process.stderr_path).read()[-3000:]
    log = [json.loads(line)["epoch"] for line in open(os.path.join(run, "log.jsonl"))]
    assert log == list(range(1, second + 2))
    assert checkpoint_epoch(run) == second + 1
    assert os.path.exists(os.path.join(run, "preset", "task.json")) and not stray_files(run)
    print(f"stopped after {timings['SIGINT']:.1f} s (SIGINT), {timings['SIGTERM']:.1f} s (SIGTERM)")


def test_folder_inpaint_keeps_finished_outputs(tmp_path, photos, kill_leftovers):
    out = tmp_path / "out"
    process = start(["inpaint", photos, "--auto-mask", "medium", "-o", str(out)], tmp_path)
    kill_leftovers(process)
    wait_until(lambda: out.is_dir() and any(name.endswith(".png") for name in os.listdir(out)), process,
               "first output")
    code, seconds = interrupt(process, signal.SIGINT)
    assert code == 130
    written = sorted(os.listdir(out))
    assert not stray_files(out) and 0 < len(written) < 30, written
    line = report_line(process)
    assert line.startswith("keras-inpaint: interrupted;") and f"{len(written)} of the 30 results" in line and "--skip-existing" in line
    for name in written:
        assert Image.open(out / name).convert("RGB").size == (451, 300)  # whole files, every one
    print(f"inpaint stopped after {seconds:.1f} s with {len(written)} of 30 written")


def test_evaluate_stops_on_sigint(tmp_path, photos, kill_leftovers):
    # The CLI's own main(), with a marker file written when the first photo is evaluated: the
    # signal then lands in the middle of the evaluation, not during the imports.
    marker = tmp_path / "evaluating"
    script = f"""
import sys
import keras_inpaint.evaluation as evaluation
from keras_inpaint.cli import main

real_center_crop = evaluation.center_crop
def center_crop(*args):
    open({str(marker)!r}, "w").close()
    return real_center_crop(*args)
evaluation.center_crop = center_crop
sys.exit(main(["evaluate", {photos!r}, "--preset", "lama_tiny", "--sizes", "64", "--settings", "thin", "medium",
               "--baselines", "telea", "--json", {str(tmp_path / "result.json")!r}]))
"""
    process = start(None, tmp_path, python=script)
    kill_leftovers(process)
    wait_until(marker.exists, process, "evaluation")
    code, seconds = interrupt(process, signal.SIGINT)
    assert code == 130
    assert report_line(process).startswith("keras-inpaint: interrupted; no results written")
    assert not (tmp_path / "result.json").exists()
    print(f"evaluate stopped after {seconds:.1f} s")
