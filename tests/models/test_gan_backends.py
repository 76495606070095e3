"""InpaintingGAN on JAX as on TensorFlow: each backend runs in its own subprocess (Keras picks
its backend once per process). Presets move between the backends; one training step from the
same weights and batch gives the same losses and updates."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytest.importorskip("jax")


def run_on(backend: str, code: str, timeout: int = 600, **env) -> str:
    environment = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT, **env}
    result = subprocess.run([sys.executable, "-c", "import warnings; warnings.simplefilter('ignore')\n"
                             + textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
                            env=environment, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


ONE_STEP = """
    import json, sys, keras, numpy as np, keras_inpaint as ki
    gan = ki.InpaintingGAN.from_preset(sys.argv[1] if len(sys.argv) > 1 else {preset!r}, r1_gamma=0.0)
    before = [w.copy() for w in gan.backbone.get_weights() + gan.discriminator.get_weights()]
    gan.compile(g_optimizer=keras.optimizers.SGD(1.0), d_optimizer=keras.optimizers.SGD(1.0))  # update = -gradient
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    masks = np.zeros((2, 32, 32, 1), "float32"); masks[:, 8:20, 6:26] = 1
    logs = gan.train_on_batch(images, masks, return_dict=True)
    after = gan.backbone.get_weights() + gan.discriminator.get_weights()
    np.save({out!r}, np.concatenate([np.ravel(a - b) for a, b in zip(after, before)]))
    print(json.dumps({{k: float(v) for k, v in logs.items()}}))
"""


def test_one_training_step_is_the_same_on_tensorflow_and_jax(tmp_path):
    """From the same weights (a preset saved on TensorFlow) and batch, with SGD(1) so that the
    update is the gradient itself: losses within 1e-5 and updates within 1e-5 of the largest."""
    preset = str(tmp_path / "lama")
    run_on("tensorflow", f"import keras_inpaint as ki; ki.InpaintingGAN.from_preset('lama_tiny').save_to_preset({preset!r})")
    logs, updates = {}, {}
    for backend in ("tensorflow", "jax"):
        out = str(tmp_path / f"{backend}.npy")
        logs[backend] = json.loads(run_on(backend, ONE_STEP.format(preset=preset, out=out)).strip().splitlines()[-1])
        updates[backend] = np.load(out)
    assert set(logs["jax"]) == set(logs["tensorflow"]) and {"g_loss", "d_loss", "l1_hole"} <= set(logs["jax"])
    for name, value in logs["tensorflow"].items():
        assert abs(logs["jax"][name] - value) <= 1e-5 * max(1.0, abs(value)), name
    scale = np.abs(updates["tensorflow"]).max()
    assert scale > 0 and np.abs(updates["jax"] - updates["tensorflow"]).max() <= 1e-5 * scale


FAMILIES = {"lama_tiny": 32, "deepfill_v2_tiny": 32, "pconv_tiny": 32, "pix2pix_tiny": 32, "migan_tiny": 128}

TRAIN_SAVE_INPAINT = """
    import os, sys, numpy as np, keras, keras_inpaint as ki
    folder, train = sys.argv[1], sys.argv[2] == "train"
    for name, size in {families!r}.items():
        preset = os.path.join(folder, name)
        rng = np.random.default_rng(0)
        images = rng.uniform(-1, 1, (4, size, size, 3)).astype("float32")
        if train:
            gan = ki.InpaintingGAN.from_preset(name)
            masks = np.zeros((4, size, size, 1), "float32"); masks[:, size // 4: size // 2, size // 4: 3 * size // 4] = 1
            history = gan.fit(images, masks, batch_size=2, epochs=1, verbose=0).history
            assert {{"g_loss", "d_loss"}} <= set(history) and all(np.isfinite(v[-1]) for v in history.values()), history
            gan.save_to_preset(preset)
        photo = rng.uniform(0, 1, (size, size + 8, 3)).astype("float32")
        mask = np.zeros(photo.shape[:2], "uint8"); mask[8:24, 8:30] = 1
        fill = ki.Inpainter.from_preset(preset).inpaint(photo, mask, working_size=None, blend=None)
        np.save(os.path.join(folder, name + "_" + keras.config.backend() + ".npy"), fill)
        keras.backend.clear_session()
"""


RUN = """
from keras_inpaint.training import train
train("lama_tiny", {photos!r}, {out!r}, epochs={epochs}, steps_per_epoch=2, image_size=32, batch_size=2, masks="thick",
      verbose=0)
"""

FLOAT16 = """
import keras, numpy as np, keras_inpaint as ki
keras.mixed_precision.set_global_policy("mixed_float16")
gan = ki.InpaintingGAN.from_preset("lama_tiny")
gan.compile()
rng = np.random.default_rng(0)
images = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
masks = np.zeros((4, 32, 32, 1), "float32"); masks[:, 8:20, 6:26] = 1
history = gan.fit(images, masks, batch_size=2, epochs=2, verbose=0).history
assert all(np.isfinite(v).all() for v in history.values()), history
print(type(gan.g_optimizer).__name__, float(gan.g_optimizer.dynamic_scale))
"""


def test_every_family_trains_on_jax_and_its_preset_inpaints_alike_on_tensorflow(tmp_path, photo_folder):
    """Each family's GAN fits on JAX and saves a preset; TensorFlow loads it and inpaints the same
    photo: float32 fills in [0, 1] within 1e-5 (migan_tiny: 2e-2, its layout-v0 noise comes from the
    backend's random generator). DeepFill v2 is held to its known pixels only: its contextual
    attention (a softmax over similarities scaled by 10) can switch the patch it copies on a float32
    rounding difference, and its fills differed by 3.8e-5, 1.3e-4 and 0.10 in three runs.

    In the same two processes (each backend's start-up is paid once): ``train`` runs one epoch on
    JAX and ``train(..., epochs=2)`` continues it on TensorFlow from the checkpoint (weights and both
    optimizers' states: 2 x 2 steps counted); and a ``mixed_float16`` GAN trains on JAX with its
    loss-scaling optimizers (their dynamic scale moves from 2**15)."""
    code = textwrap.dedent(TRAIN_SAVE_INPAINT.format(families=FAMILIES))
    run = str(tmp_path / "run")
    on_jax = run_on("jax", code.replace("sys.argv[1], sys.argv[2]", f"{str(tmp_path)!r}, 'train'")
                    + RUN.format(photos=photo_folder, out=run, epochs=1) + FLOAT16)
    run_on("tensorflow", code.replace("sys.argv[1], sys.argv[2]", f"{str(tmp_path)!r}, 'load'")
           + RUN.format(photos=photo_folder, out=run, epochs=2))
    optimizer, scale = on_jax.strip().splitlines()[-1].split()
    assert optimizer == "LossScaleOptimizer" and float(scale) != 2.0**15
    log = [json.loads(line) for line in open(os.path.join(run, "log.jsonl"))]
    assert [r["epoch"] for r in log] == [1, 2]
    import h5py

    with h5py.File(os.path.join(run, "backup", "epoch_0002.weights.h5"), "r") as f:
        assert int(f["g_optimizer/vars/0"][()]) == int(f["d_optimizer/vars/0"][()]) == 4
    bounds = {"deepfill_v2_tiny": None, "migan_tiny": 2e-2}
    for name, size in FAMILIES.items():
        on_jax, on_tf = np.load(tmp_path / f"{name}_jax.npy"), np.load(tmp_path / f"{name}_tensorflow.npy")
        known = np.ones((size, size + 8), bool)
        known[8:24, 8:30] = False
        np.testing.assert_array_equal(on_jax[known], on_tf[known])  # the photo's own pixels, on both
        assert np.all(np.isfinite(on_jax)) and np.all(np.isfinite(on_tf)), name
        if bounds.get(name, 1e-5) is not None:
            assert np.abs(on_jax - on_tf).max() <= bounds.get(name, 1e-5), name


@pytest.mark.slow  # 45 s; run with -m slow
def test_data_parallel_on_two_jax_cpu_devices(tmp_path):
    out = run_on("jax", """
        import jax, keras, numpy as np, keras_inpaint as ki
        devices = jax.devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        gan = ki.InpaintingGAN.from_preset("lama_tiny")
        rng = np.random.default_rng(0)
        images = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
        masks = np.zeros((8, 32, 32, 1), "float32"); masks[:, 8:20, 6:26] = 1
        history = gan.fit(images, masks, batch_size=4, epochs=2, verbose=0).history
        print(len(devices), history["l1_hole"])
        """, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    devices, l1 = out.strip().splitlines()[-1].split(" ", 1)
    assert devices == "2" and all(np.isfinite(json.loads(l1)))

