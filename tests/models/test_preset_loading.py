import json
import os
import shutil
import warnings

import keras
import numpy as np
import pytest

import keras_inpaint as ki
from keras_inpaint import Inpainter, InpaintingGAN, PresetError
from keras_inpaint.models import registry


@pytest.fixture
def saved_preset(tmp_path):
    generator = ki.LamaGenerator(base_filters=8, num_blocks=1)
    model = InpaintingGAN(generator, ki.LamaDiscriminator(base_filters=8, num_layers=2), seed=0)
    model.compile(jit_compile=False)
    model.save_to_preset(str(tmp_path / "preset"))
    return tmp_path / "preset"


def test_bundled_preset_loads_offline_and_inpaints(sample_photo):
    model = Inpainter.from_preset("lama_tiny")
    mask = np.zeros(sample_photo.shape[:2], np.uint8)
    mask[100:160, 150:260] = 1
    out = model.inpaint(sample_photo, mask)
    np.testing.assert_array_equal(out[mask == 0], sample_photo[mask == 0])
    # Trained weights: the fill is closer to the truth than a flat grey fill.
    error = np.abs(out[mask == 1].astype(float) - sample_photo[mask == 1]).mean()
    grey = np.abs(128.0 - sample_photo[mask == 1]).mean()
    assert error < grey


@pytest.mark.parametrize("name", ["deepfill_v2_tiny", "pconv_tiny"])
def test_every_tiny_preset_builds_a_gan(name):
    with pytest.warns(UserWarning, match="RANDOM weights"):
        gan = InpaintingGAN.from_preset(name)
    recipe = json.load(open(os.path.join(registry.preset_dir(name), "task.json")))["config"]
    assert type(gan.generator).__name__ == recipe["backbone"]["class_name"]
    assert type(gan.discriminator).__name__ == recipe["discriminator"]["class_name"]
    assert gan.adversarial_loss == recipe["adversarial_loss"]


def test_builtin_preset_without_weights_warns_and_builds_architecture():
    with pytest.warns(UserWarning, match="RANDOM weights"):
        gan = InpaintingGAN.from_preset("pix2pix_tiny")
    assert isinstance(gan.generator, ki.Pix2PixGenerator)
    assert gan.feature_matching_weight == 0.0 and gan.l1_hole_weight == 100.0


def test_gan_preset_keeps_discriminator_losses_and_optimizers(saved_preset):
    assert sorted(os.listdir(saved_preset)) == ["config.json", "metadata.json", "model.weights.h5", "task.json", "task.weights.h5"]
    gan = InpaintingGAN.from_preset(str(saved_preset))
    assert isinstance(gan.discriminator, ki.LamaDiscriminator)
    assert gan.r1_gamma == 0.001 and gan.adversarial_loss == "non_saturating"
    assert isinstance(gan.d_optimizer, keras.optimizers.Adam)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-4)


def test_unknown_preset_suggests_close_names():
    with pytest.raises(PresetError, match="unknown preset 'lama_fourier_265'.*'lama_fourier_256'"):
        Inpainter.from_preset("lama_fourier_265")


def test_missing_file_is_named(saved_preset):
    os.remove(saved_preset / "model.weights.h5")
    with pytest.raises(PresetError, match="missing model.weights.h5"):
        Inpainter.from_preset(str(saved_preset))


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_weights_file_is_named(saved_preset, damage):
    path = saved_preset / "model.weights.h5"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"not an h5 file" * 100)
    with pytest.raises(PresetError, match="could not load the generator weights from .*model.weights.h5"):
        Inpainter.from_preset(str(saved_preset))


def test_foreign_class_in_config_is_refused(saved_preset):
    config_path = saved_preset / "config.json"
    config = json.loads(config_path.read_text())
    config["config"]["evil"] = {"module": "os", "class_name": "system", "config": {}, "registered_name": "system"}
    config_path.write_text(json.dumps(config))
    with pytest.raises(PresetError, match="neither a Keras nor a keras_inpaint class"):
        Inpainter.from_preset(str(saved_preset))


def test_lambda_layer_in_task_config_is_refused(saved_preset):
    task_path = saved_preset / "task.json"
    task = json.loads(task_path.read_text())
    task["config"]["discriminator"] = {"module": "keras.layers", "class_name": "Lambda", "config": {"function": "x"}, "registered_name": None}
    task_path.write_text(json.dumps(task))
    with pytest.raises(PresetError, match="'Lambda'"):
        InpaintingGAN.from_preset(str(saved_preset))


def test_preset_path_that_is_a_file(tmp_path):
    (tmp_path / "weights.h5").write_bytes(b"x")
    with pytest.raises(PresetError, match="is a file"):
        Inpainter.from_preset(str(tmp_path / "weights.h5"))


def test_list_presets_table():
    rows = {row["name"]: row for row in ki.list_presets(count_parameters_=False)}
    expected = {"lama_fourier_256", "big_lama_256", "deepfill_v2_256", "migan_256", "migan_512", "pconv_512", "pix2pix_256"}
    assert expected <= set(rows)
    assert {row["family"] for row in rows.values()} == {"lama", "deepfill_v2", "migan", "pconv", "pix2pix"}
    for family in ("lama", "deepfill_v2", "migan", "pconv", "pix2pix"):
        assert f"{family}_tiny" in rows
    assert rows["lama_tiny"]["pretrained"] and rows["migan_tiny"]["pretrained"] and not rows["big_lama_256"]["pretrained"]
    assert "Apache-2.0" in rows["lama_fourier_256"]["license"] and "BSD" in rows["pix2pix_256"]["license"]
    assert "MIT" in rows["migan_256"]["license"] and "CC BY-NC 4.0" in rows["deepfill_v2_256"]["license"]
    for row in rows.values():
        assert {"family", "resolution", "description", "license"} <= set(row)


def test_list_presets_counts_parameters_of_small_presets(monkeypatch):
    small = {k: v for k, v in registry.builtin_presets().items() if k.endswith("_tiny")}
    monkeypatch.setattr(registry, "builtin_presets", lambda: small)  # skip building the full-size ones
    rows = {row["name"]: row for row in ki.list_presets(count_parameters_=True)}
    assert rows["lama_tiny"]["generator_parameters"] == ki.count_parameters(Inpainter.from_preset("lama_tiny").backbone)
    assert rows["lama_tiny"]["discriminator_parameters"] > 0
    # pconv trains with a small-weight PatchGAN: the table lists the one from_preset builds.
    assert rows["pconv_tiny"]["discriminator_parameters"] == ki.count_parameters(
        ki.InpaintingGAN.from_preset("pconv_tiny").discriminator) > 0


def test_inference_settings_travel_with_the_preset(tmp_path):
    bundled = Inpainter.from_preset("lama_tiny")
    assert (bundled.working_size, bundled.blend) == (256, "poisson")  # its model card's settings
    custom = Inpainter.from_preset("lama_tiny", working_size=128, blend=None)
    assert (custom.working_size, custom.blend) == (128, None)
    custom.save_to_preset(str(tmp_path / "custom"))
    reloaded = Inpainter.from_preset(str(tmp_path / "custom"))
    assert (reloaded.working_size, reloaded.blend) == (128, None)
    image = np.random.default_rng(0).integers(0, 256, (200, 300, 3)).astype(np.uint8)
    mask = np.zeros((200, 300), np.uint8)
    mask[60:140, 100:220] = 1
    np.testing.assert_array_equal(reloaded.inpaint(image, mask), custom.inpaint(image, mask))
    np.testing.assert_array_equal(custom.inpaint(image, mask), bundled.inpaint(image, mask, working_size=128, blend=None))
    with pytest.raises(ki.InpaintInputError, match="unknown blend"):
        Inpainter.from_preset("lama_tiny", blend="seamless")
    with pytest.raises(ki.InpaintInputError, match="unknown blend 'foo'"):  # the API's input error, not ValueError
        bundled.inpaint(image, mask, blend="foo")
    with pytest.raises(ki.InpaintInputError, match="working_size must be a positive number"):
        bundled.inpaint(image, mask, working_size=-1)


def test_bundled_migan_tiny_loads_offline_with_its_settings(sample_photo):
    model = Inpainter.from_preset("migan_tiny")
    assert isinstance(model.generator, ki.MiganGenerator)
    assert (model.working_size, model.blend) == (128, "poisson")
    mask = np.zeros(sample_photo.shape[:2], np.uint8)
    mask[100:160, 150:260] = 1
    out = model.inpaint(sample_photo, mask)
    np.testing.assert_array_equal(out[mask == 0], sample_photo[mask == 0])
    error = np.abs(out[mask == 1].astype(float) - sample_photo[mask == 1]).mean()
    assert error < np.abs(128.0 - sample_photo[mask == 1]).mean()
    gan = InpaintingGAN.from_preset("migan_tiny")  # trained generator, the preset's discriminator and losses
    recipe = json.load(open(os.path.join(registry.preset_dir("migan_tiny"), "task.json")))["config"]
    assert gan.adversarial_loss == recipe["adversarial_loss"] and gan.r1_gamma == recipe["r1_gamma"]


@pytest.mark.parametrize("name", sorted(registry.builtin_presets()))
def test_one_recipe_per_preset_by_name_and_by_directory(name, tmp_path):
    """A built-in name and the folder a GAN saves to give the same G, D and GAN configs
    (loss kind, every weight, optimizers); the name's recipe is its folder's task.json."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_name = InpaintingGAN.from_preset(name)
    config = without_names(by_name.get_config())
    recipe = json.load(open(os.path.join(registry.preset_dir(name), "task.json")))["config"]
    assert config == without_names(recipe)
    assert config["discriminator"]["class_name"] != "None" and config["g_optimizer"]["class_name"] == "Adam"
    metadata = registry.builtin_presets()[name]["metadata"]  # what `keras-inpaint presets` shows without building
    assert metadata["generator_parameters"] == ki.count_parameters(by_name.generator)
    assert metadata["discriminator_parameters"] == ki.count_parameters(by_name.discriminator)
    if name.endswith("_tiny"):  # saving the full-size ones writes hundreds of MB
        by_name.save_to_preset(str(tmp_path / "saved"))
        assert without_names(InpaintingGAN.from_preset(str(tmp_path / "saved")).get_config()) == config
    keras.backend.clear_session()


def without_names(config):
    """A config without Keras's object names (``lama_generator_3`` in a busy session) and
    build/compile state (present once a nested model has run): the recipe's facts alone."""
    if isinstance(config, dict):
        return {k: without_names(v) for k, v in config.items()
                if k not in ("name", "build_config", "compile_config")}
    if isinstance(config, list):
        return [without_names(v) for v in config]
    return config


def test_inpainter_preset_trains_with_its_family_reference_recipe(tmp_path):
    """An Inpainter's preset has no recipe: its GAN gets the family's reference one and keeps
    its own inference settings."""
    Inpainter(ki.LamaGenerator(base_filters=8, num_blocks=1), working_size=96).save_to_preset(str(tmp_path / "p"))
    gan = InpaintingGAN.from_preset(str(tmp_path / "p"))
    reference = json.load(open(os.path.join(registry.preset_dir("lama_fourier_256"), "task.json")))["config"]
    assert without_names(gan.get_config()["discriminator"]) == without_names(reference["discriminator"])
    assert gan.feature_matching_weight == reference["feature_matching_weight"] and gan.working_size == 96
