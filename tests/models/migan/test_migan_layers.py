"""Layers of the migan family."""

import keras
import numpy as np
import pytest

from keras_inpaint.models.migan.migan_layers import blur_downsample, blur_upsample


def test_blur_resampling_preserves_constants():
    x = np.full((1, 8, 8, 2), 3.0, np.float32)
    np.testing.assert_allclose(np.asarray(blur_downsample(x))[:, 1:-1, 1:-1], 3.0, atol=1e-5)
    up = np.asarray(blur_upsample(x))
    assert up.shape == (1, 16, 16, 2)
    np.testing.assert_allclose(up[:, 2:-2, 2:-2], 3.0, atol=1e-5)
