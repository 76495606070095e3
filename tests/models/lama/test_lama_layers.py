"""Layers of the lama family."""

import keras
import numpy as np
import pytest

from keras_inpaint.models.lama.fourier import irfft2, rfft2
from keras_inpaint.models.lama.reflect_pad import ReflectPad2D


def test_rfft2_matches_numpy_ortho_and_inverts():
    x = np.random.default_rng(0).normal(size=(2, 6, 9, 3)).astype(np.float32)
    real, imag = rfft2(x)
    reference = np.fft.rfft2(x, axes=(1, 2), norm="ortho")
    np.testing.assert_allclose(real, reference.real, atol=1e-5)
    np.testing.assert_allclose(imag, reference.imag, atol=1e-5)
    np.testing.assert_allclose(irfft2(real, imag, 9), x, atol=1e-5)



def test_reflect_pad_matches_numpy():
    x = np.arange(2 * 4 * 5 * 1, dtype=np.float32).reshape(2, 4, 5, 1)
    np.testing.assert_array_equal(ReflectPad2D(2)(x), np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"))
