import numpy as np
import pytest

from keras_inpaint import Inpainter
from keras_inpaint.blending import blend_batch, poisson_blend


def _photo(height=24, width=32):
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([np.sin(xs / 5.0), np.cos(ys / 4.0), xs * ys / (height * width)], -1) * 0.4 + 0.5


def test_a_fill_off_by_a_constant_is_brought_back_to_the_photo():
    image = _photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[6:18, 8:20] = True
    blended = poisson_blend(image, image + 0.2, mask)  # right gradients, wrong colour level
    np.testing.assert_allclose(blended, image, atol=1e-9)


def test_large_holes_are_solved_in_two_levels_close_to_the_exact_solve():
    image = _photo(200, 200)
    mask = np.zeros(image.shape[:2], bool)
    mask[20:180, 30:190] = True  # 25,600 pixels, 80 deep
    mask[100:110, 0:30] = True  # a strip to the image's edge
    rng = np.random.default_rng(0)
    fill = image + 0.1 * np.sin(np.arange(200) / 7.0)[:, None, None] + rng.normal(0, 0.02, image.shape)
    exact = poisson_blend(image, fill, mask)
    # A limit of 400 unknowns: a grid 9x coarser, a 72-pixel band; the centre comes from the coarse level.
    two_level = poisson_blend(image, fill, mask, exact_limit=400)
    error = np.abs(two_level - exact)[mask]
    assert error.mean() < 4e-3 and error.max() < 2e-2  # the correction itself reaches 0.11
    seam = mask & ~np.pad(mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:], 1)
    assert np.abs(two_level - exact)[seam].max() < 1e-3  # exact where the correction varies fastest
    np.testing.assert_array_equal(two_level[~mask], image[~mask])
    # A fill off by a constant is still brought back exactly.
    np.testing.assert_allclose(poisson_blend(image, image + 0.2, mask, exact_limit=400), image, atol=1e-9)


def test_a_hole_on_the_image_edge_and_a_flat_fill():
    image = np.full((16, 16, 3), 0.5)
    mask = np.zeros((16, 16, 1), np.uint8)
    mask[:, :5] = 1  # touches the left, top and bottom edges
    blended = poisson_blend(image, np.full_like(image, 0.3), mask)
    np.testing.assert_allclose(blended, 0.5, atol=1e-9)


def test_the_correction_fades_away_from_the_seam_and_keeps_known_pixels():
    image = _photo(32, 32)
    mask = np.zeros((32, 32), bool)
    mask[4:28, 4:28] = True
    fill = image.copy()
    fill[3, 4:28] -= 0.3  # the generator is 0.3 too dark just above the hole, right elsewhere
    blended = poisson_blend(image, fill, mask)
    np.testing.assert_array_equal(blended[~mask], image[~mask])
    correction = (blended - fill)[..., 0]
    assert correction[4, 16] > correction[10, 16] > correction[20, 16] > 0  # largest at that seam
    assert correction[4, 16] < 0.3
    assert abs(correction[16, 5]) < abs(correction[5, 16])  # the left seam needed nothing


def test_nothing_to_blend_against():
    image, fill = np.zeros((8, 8, 3)), np.ones((8, 8, 3))
    np.testing.assert_array_equal(poisson_blend(image, fill, np.ones((8, 8), bool)), fill)
    np.testing.assert_array_equal(poisson_blend(image, fill, np.zeros((8, 8), bool)), image)
    with pytest.raises(ValueError, match="unknown blend"):
        blend_batch(image[None], fill[None], np.zeros((1, 8, 8, 1)), "laplacian")


def test_inpaint_with_poisson_blending():
    model = Inpainter.from_preset("lama_tiny")
    image = (_photo(64, 80) * 255).astype(np.uint8)
    mask = np.zeros((64, 80), np.uint8)
    mask[16:40, 20:60] = 1
    pasted = model.inpaint(image, mask, blend=None)
    blended = model.inpaint(image, mask, blend="poisson")
    assert blended.dtype == np.uint8 and blended.shape == image.shape
    np.testing.assert_array_equal(blended[mask == 0], image[mask == 0])
    assert np.abs(blended.astype(int) - pasted.astype(int)).max() > 0
    assert model.blend == "poisson"  # lama_tiny's preset blends by default
    np.testing.assert_array_equal(model.inpaint(image, mask), blended)
    with pytest.raises(ValueError, match="unknown blend"):
        model.inpaint(image, mask, blend="laplacian")
    with pytest.raises(ValueError, match="working_size"):
        model.inpaint(image, mask, working_size=0)
