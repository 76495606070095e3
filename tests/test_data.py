import os
import warnings

import numpy as np
import pytest
from PIL import Image

from keras_inpaint.data import inpainting_dataset, list_images


@pytest.fixture
def photo_folder(tmp_path, sample_photo):
    """Nested folder: RGB jpg, grayscale png, RGBA webp, a small png, and a corrupt file."""
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    Image.fromarray(sample_photo).save(tmp_path / "cat.jpg")
    Image.fromarray(sample_photo[..., 0]).save(tmp_path / "nested" / "gray.png")
    rgba = np.concatenate([sample_photo, np.full(sample_photo.shape[:2] + (1,), 200, np.uint8)], axis=-1)
    Image.fromarray(rgba).save(tmp_path / "nested" / "deeper" / "alpha.webp")
    Image.fromarray(sample_photo[:40, :50]).save(tmp_path / "small.PNG")
    (tmp_path / "nested" / "broken.jpg").write_bytes(b"\xff\xd8\xff this is not really a jpeg")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_list_images_recursive_and_case_insensitive(photo_folder):
    names = sorted(os.path.basename(p) for p in list_images(str(photo_folder)))
    assert names == ["alpha.webp", "broken.jpg", "cat.jpg", "gray.png", "small.PNG"]


def test_dataset_batches_skip_corrupt_file_with_warning(photo_folder):
    dataset = inpainting_dataset(str(photo_folder), image_size=32, batch_size=2, masks="medium", seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(dataset)
    assert any("broken.jpg" in str(w.message) for w in caught)
    # 4 readable images -> 2 full batches.
    assert len(batches) == 2
    for images, masks in batches:
        assert images.shape == (2, 32, 32, 3) and masks.shape == (2, 32, 32, 1)
        assert images.dtype.name == "float32"
        assert -1.0 <= float(np.min(images)) and float(np.max(images)) <= 1.0
        assert set(np.unique(masks.numpy())) <= {0.0, 1.0}
        ratios = masks.numpy().reshape(2, -1).mean(axis=1)
        assert np.all(ratios > 0) and np.all(ratios <= 0.5)


def test_dataset_is_reproducible_with_a_seed(photo_folder):
    def first_batch(seed):
        images, masks = next(iter(inpainting_dataset(str(photo_folder), 32, 2, "thin", seed=seed)))
        return images.numpy(), masks.numpy()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b, c = first_batch(3), first_batch(3), first_batch(4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_crops_are_real_image_content(photo_folder):
    """Crops are resized views of the photo, not padding: they have the photo's spread of values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        images, _ = next(iter(inpainting_dataset(str(photo_folder), 64, 4, "thin", seed=1)))
    assert float(np.std(images.numpy())) > 0.1


def test_empty_and_missing_folders_raise(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found in"):
        inpainting_dataset(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inpainting_dataset(str(tmp_path / "missing"))


def test_shards_split_the_files_between_input_pipelines(tmp_path):
    from keras_inpaint.errors import DataError

    for i, level in enumerate((0, 60, 120, 180)):  # one flat grey per file, in sorted order
        Image.fromarray(np.full((40, 40, 3), level, np.uint8)).save(tmp_path / f"f{i}.png")
    seen = []
    for index in (0, 1):
        dataset = inpainting_dataset(str(tmp_path), image_size=16, batch_size=2, masks="thin", seed=0,
                                     shard=(2, index))
        levels = {int(round((float(np.asarray(images)[j].mean()) + 1) * 127.5))
                  for images, _ in dataset for j in range(2)}
        seen.append(levels)
    assert seen == [{0, 120}, {60, 180}]  # files 0, 2 and files 1, 3: disjoint, together all
    with pytest.raises(DataError, match="too few"):
        inpainting_dataset(str(tmp_path), shard=(5, 0))
    with pytest.raises(ValueError, match="0 <= index < count"):
        inpainting_dataset(str(tmp_path), shard=(2, 2))
