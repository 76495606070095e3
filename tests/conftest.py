"""Shared fixtures: small real images and tiny models (everything runs on a 2-core CPU)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_inpaint.data import load_rgb  # noqa: E402

ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_inpaint", "assets")


@pytest.fixture(autouse=True)
def _clear_keras_state():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture(scope="session")
def sample_photo() -> np.ndarray:
    """A real photograph (scikit-image's CC0 'chelsea'), uint8 (300, 451, 3)."""
    return load_rgb(os.path.join(ASSETS, "chelsea.jpg"))


@pytest.fixture
def photo_folder(tmp_path, sample_photo) -> str:
    """A folder of three shifted copies of the sample photo (PNG), for training runs."""
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.roll(sample_photo, 40 * i, axis=1)).save(folder / f"p{i}.png")
    return str(folder)


def stripe_images(count: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth oriented stripes with random frequency and phase: a learnable real pattern, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    images = []
    for _ in range(count):
        angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(2, 5), rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * freq * (np.cos(angle) * xs + np.sin(angle) * ys) + phase)
        colour = rng.uniform(0.3, 1.0, size=3)
        images.append(wave[..., None] * colour)
    return np.stack(images).astype(np.float32)


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder nothing may be written into: a read-only one, or (as root, who may write
    anywhere) a procfs folder; the test skips where neither exists."""
    readonly = tmp_path / "ro"
    readonly.mkdir()
    os.chmod(readonly, 0o500)
    parent = str(readonly) if not os.access(readonly, os.W_OK) else "/proc/self"
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("no unwritable folder here")
        yield parent
    finally:
        os.chmod(readonly, 0o700)
