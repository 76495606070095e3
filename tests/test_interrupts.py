"""Ctrl-C (SIGINT) and SIGTERM sent to real ``keras-inpaint`` processes: they stop within seconds,
report one line, exit 130 / 143, and keep what they finished (``train --resume`` continues).

Every wait has a deadline, so a process that hangs fails its test instead of blocking the run.
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

from keras_inpaint import interrupts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def test_deferred_holds_signals_until_the_block_ends():
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the runner ignores it
    previous_term = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts.deferred():
                signal.raise_signal(signal.SIGINT)
                done = True  # reached: the signal waited for the end of the block
        assert done
        with interrupts.handled(), pytest.raises(interrupts.Terminated):
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.01)
        assert signal.getsignal(signal.SIGTERM) is previous_term
    finally:
        signal.signal(signal.SIGINT, previous_int)


def test_an_interruption_dropped_by_a_del_method_is_raised_again_by_check():
    class RaisesInDel:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)  # the handler raises in here, and Python drops it

    with interrupts.handled():
        RaisesInDel()
        with pytest.raises(interrupts.Terminated):
            interrupts.check()
        interrupts.check()  # raised once only
    interrupts.check()  # nothing pending outside handled()
    assert interrupts.exit_code(interrupts.Terminated()) == 143 and interrupts.exit_code(KeyboardInterrupt()) == 130
