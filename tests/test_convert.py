"""``keras-inpaint convert``: official checkpoints in, presets out — end to end against the
official pipelines' outputs (the fixtures in ../shared/fixtures), provenance, bad input."""

import hashlib
import json
import os

import numpy as np
import pytest

from keras_inpaint import Inpainter, InpaintingGAN, LamaDiscriminator
from keras_inpaint.cli import main
from keras_inpaint.export import export_saved_model
from tests.test_checkpoints import _Call, _OsSystem, lightning_checkpoint, tensor, write_torch_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures")
needs_fixtures = pytest.mark.skipif(not os.path.isdir(FIXTURES), reason="../shared/fixtures (official reference data) is absent")


def fixture(family, name):
    return dict(np.load(os.path.join(FIXTURES, f"{family}_reference", name)))


def nhwc(array):
    return np.transpose(array, (0, 2, 3, 1))


def lama_checkpoint(tmp_path, discriminator_seed=0):
    """LaMa's best.ckpt layout: generator.* (the fixture's weights), discriminator.*, OmegaConf config."""
    state = {f"generator.{k}": v for k, v in fixture("lama", "weights.npz").items()}
    rng = np.random.default_rng(discriminator_seed)
    widths = [3, 8, 16, 32, 64]
    for i in range(4):
        state[f"discriminator.model{i}.0.weight"] = rng.normal(0, 0.05, (widths[i + 1], widths[i], 4, 4)).astype("float32")
        state[f"discriminator.model{i}.0.bias"] = np.zeros(widths[i + 1], "float32")
        if i:
            for name, value in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
                state[f"discriminator.model{i}.1.{name}"] = np.full(widths[i + 1], value, "float32")
    state["discriminator.model4.0.weight"] = rng.normal(0, 0.05, (1, 64, 4, 4)).astype("float32")
    state["discriminator.model4.0.bias"] = np.zeros(1, "float32")
    return write_torch_checkpoint(tmp_path / "best.ckpt", lightning_checkpoint(state))


@needs_fixtures
def test_lama_ckpt_converts_through_the_cli_and_reproduces_lama_predict(tmp_path, capsys):
    path = lama_checkpoint(tmp_path)
    out = tmp_path / "lama_preset"
    assert main(["convert", path, str(out)]) == 0
    assert f"wrote preset {out}" in capsys.readouterr().out
    metadata = json.load(open(out / "metadata.json"))["converted_from"]
    assert metadata["family"] == "lama" and metadata["license"] == "Apache-2.0"
    assert metadata["sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest()
    card = open(out / "README.md").read()
    assert metadata["sha256"] in card and "Apache-2.0" in card and "LaMa" in card

    # LaMa's predict: pad bottom/right to a multiple of 8 (numpy "symmetric"), composite, crop.
    io = fixture("lama", "io.npz")
    image, mask = nhwc(io["image"])[0, :61, :83], nhwc(io["mask"])[0, :61, :83, 0]
    expected = nhwc(io["inpainted"])[0, :61, :83]
    model = Inpainter.from_preset(str(out))
    assert model.pad_mode == "symmetric" and model.working_size is None and model.blend is None
    filled = model.inpaint(image, mask)
    assert np.abs(filled - expected).max() < 1e-5
    np.testing.assert_array_equal(filled[mask == 0], image[mask == 0])
    # In uint8 within 1 level of LaMa's truncating writer.
    lama_uint8 = np.clip(expected * 255, 0, 255).astype(np.uint8)
    ours = model.inpaint((image * 255).round().astype(np.uint8), mask)
    assert np.abs(ours.astype(int) - lama_uint8.astype(int))[mask == 1].max() <= 1

    # The official discriminator came along, and the GAN fine-tunes from it.
    gan = InpaintingGAN.from_preset(str(out))
    assert isinstance(gan.discriminator, LamaDiscriminator) and gan.discriminator.get_config()["unit_range_input"]
    assert np.abs(gan.discriminator.get_layer("layer0_conv").get_weights()[0]).max() > 0

    # The SavedModel of the converted preset serves what inpaint(blend=None) returns.
    export_saved_model(model, str(tmp_path / "saved"))
    import tensorflow as tf

    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    photo = (image * 255).round().astype(np.uint8)
    served = loaded.serve(tf.constant(photo[None]), tf.constant(mask[None, ..., None].astype(np.uint8)))
    np.testing.assert_array_equal(np.asarray(served)[0], ours)


@needs_fixtures
def test_deepfill_v2_converted_preset_reproduces_generator_infer(tmp_path):
    """Generator.infer crops to multiples of 8 (top-left) and truncates to uint8; inpaint of the
    cropped photo gives its result within 1 level, known pixels exact."""
    np.savez(tmp_path / "states_tf_places2.npz", **fixture("deepfill_v2", "weights.npz"))
    assert main(["convert", str(tmp_path / "states_tf_places2.npz"), str(tmp_path / "df")]) == 0
    card = open(tmp_path / "df" / "README.md").read()
    assert "non-commercial" in card.lower()
    io = fixture("deepfill_v2", "io.npz")
    image, mask = io["e2e_image_uint8"][:80, :96], io["e2e_mask_uint8"][:80, :96] > 0
    filled = Inpainter.from_preset(str(tmp_path / "df")).inpaint(image, mask)
    np.testing.assert_array_equal(filled[~mask], image[~mask])
    assert np.abs(filled.astype(int) - io["e2e_infer_inpainted"].astype(int))[mask].max() <= 1


@needs_fixtures
def test_pix2pix_generator_and_separate_discriminator(tmp_path):
    np.savez(tmp_path / "latest_net_G.npz", **fixture("pix2pix", "weights.npz"))
    np.savez(tmp_path / "latest_net_D.npz", **fixture("pix2pix", "discriminator_weights.npz"))
    assert main(["convert", str(tmp_path / "latest_net_G.npz"), str(tmp_path / "p2p"),
                 "--discriminator", str(tmp_path / "latest_net_D.npz")]) == 0
    gan = InpaintingGAN.from_preset(str(tmp_path / "p2p"))
    assert gan.discriminator.inputs[0].shape[-1] == 6  # conditional: (masked input, image)
    assert json.load(open(tmp_path / "p2p" / "metadata.json"))["converted_from"]["discriminator"] == "latest_net_D.npz"
    # Adversarial fine-tuning of the official pair continues: both networks move.
    io = fixture("pix2pix", "io.npz")
    images = np.repeat(nhwc(io["input"]), 2, axis=0)
    masks = np.zeros(images.shape[:3] + (1,), np.float32)
    masks[:, 64:160, 96:192] = 1.0
    before = [np.array(w) for w in (gan.discriminator.trainable_weights[0], gan.generator.trainable_weights[0])]
    history = gan.fit(images, masks, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0]) and np.isfinite(history.history["g_loss"][0])
    after = [np.array(w) for w in (gan.discriminator.trainable_weights[0], gan.generator.trainable_weights[0])]
    assert all(np.abs(a - b).max() > 0 for a, b in zip(after, before))


@needs_fixtures
def test_migan_generator_and_discriminator_convert(tmp_path):
    """MI-GAN's released files are plain Generator state dicts; the training discriminator's
    state dict (none was released; the fixture has one) converts beside it."""
    np.savez(tmp_path / "migan_64.npz", **fixture("migan", "weights.npz"))
    np.savez(tmp_path / "migan_d.npz", **fixture("migan", "discriminator_weights.npz"))
    assert main(["convert", str(tmp_path / "migan_64.npz"), str(tmp_path / "migan"),
                 "--discriminator", str(tmp_path / "migan_d.npz")]) == 0
    gan = InpaintingGAN.from_preset(str(tmp_path / "migan"))
    assert gan.generator.get_config()["layout"] == gan.discriminator.get_config()["layout"] == "official"
    io = fixture("migan", "io.npz")
    # Our input convention (masked image in [-1, 1], 1 = hole) gives MI-GAN's raw output.
    image, known = nhwc(io["image"]), nhwc(io["mask"])
    ours = np.concatenate([image * known, 1.0 - known], axis=-1)
    np.testing.assert_allclose(np.asarray(gan.generator(ours, training=False)),
                               np.clip(nhwc(io["output"]), -1, 1), atol=1e-4)
    assert "MIT" in open(tmp_path / "migan" / "README.md").read()


def _expect_one_line_failure(capsys, argv, out_dir, *fragments):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-inpaint: error:") and "\n" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    assert not os.path.exists(out_dir) and not os.path.exists(str(out_dir) + ".partial")


@needs_fixtures
def test_bad_checkpoints_fail_in_one_line_and_leave_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    good = lama_checkpoint(tmp_path)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(open(good, "rb").read()[:4000])
    _expect_one_line_failure(capsys, ["convert", str(truncated), str(out)], out, "truncated.ckpt")

    marker = tmp_path / "pwned"
    evil = write_torch_checkpoint(tmp_path / "evil.pth", {"conv.weight": tensor(np.ones((2, 2), np.float32)),
                                                           "x": _Call(_OsSystem, f"touch {marker}")})
    _expect_one_line_failure(capsys, ["convert", evil, str(out)], out, "os.system", "nothing was executed")
    assert not marker.exists()

    _expect_one_line_failure(capsys, ["convert", good, str(out), "--family", "pix2pix"], out, "pix2pix")
    weights = fixture("lama", "weights.npz")
    missing = {k: v for k, v in weights.items() if k != "model.1.ffc.convl2l.weight"}
    np.savez(tmp_path / "missing.npz", **missing)
    _expect_one_line_failure(capsys, ["convert", str(tmp_path / "missing.npz"), str(out), "--family", "lama"], out)
    wrong = dict(weights)
    wrong["model.5.conv1.ffc.convl2l.weight"] = wrong["model.5.conv1.ffc.convl2l.weight"][:, :1]
    np.savez(tmp_path / "wrong.npz", **wrong)
    _expect_one_line_failure(capsys, ["convert", str(tmp_path / "wrong.npz"), str(out)], out, "model.5.conv1.ffc.convl2l.weight")
    np.savez(tmp_path / "other.npz", **{"foo.weight": np.zeros((2, 2), np.float32)})
    _expect_one_line_failure(capsys, ["convert", str(tmp_path / "other.npz"), str(out)], out, "--family")
    _expect_one_line_failure(capsys, ["convert", str(tmp_path / "nope.ckpt"), str(out)], out, "nope.ckpt")


def test_an_existing_preset_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "config.json").write_text("{}")
    assert main(["convert", str(tmp_path / "x.npz"), str(out)]) == 1
    assert "nothing is overwritten" in capsys.readouterr().err
    assert (out / "config.json").read_text() == "{}"


@needs_fixtures
def test_converted_presets_export_to_tflite_and_upload_like_any_other(tmp_path):
    """A converted LaMa serves from a TFLite flatbuffer within 1 level of inpaint; a converted
    DeepFill v2 uploads to a (loopback) Hub with its non-commercial license in the card header
    and its provenance, and loads back from hf:// giving the same fills."""
    import tensorflow as tf

    from keras_inpaint.export import export_tflite
    from tests.hub_server import TOKEN, FakeHub
    from tests.test_hub import run_python

    assert main(["convert", lama_checkpoint(tmp_path), str(tmp_path / "lama")]) == 0
    lama = Inpainter.from_preset(str(tmp_path / "lama"))
    io = fixture("lama", "io.npz")
    photo = (nhwc(io["image"])[0, :48, :64] * 255).round().astype(np.uint8)
    mask = nhwc(io["mask"])[0, :48, :64, 0].astype(np.uint8)
    path = export_tflite(lama, str(tmp_path / "lama.tflite"), 48, 64)
    served = list(tf.lite.Interpreter(path).get_signature_runner("serve")(
        image=photo[None], mask=mask[None, ..., None]).values())[0][0]
    np.testing.assert_array_equal(served[mask == 0], photo[mask == 0])
    assert np.abs(served.astype(int) - lama.inpaint(photo, mask).astype(int)).max() <= 1

    np.savez(tmp_path / "states_tf_places2.npz", **fixture("deepfill_v2", "weights.npz"))
    assert main(["convert", str(tmp_path / "states_tf_places2.npz"), str(tmp_path / "df")]) == 0
    with FakeHub() as hub:
        code = f"""
            import numpy as np, keras_inpaint as ki
            ki.upload_preset("hf://org/deepfill", {str(tmp_path / "df")!r}, token={TOKEN!r})
            rng = np.random.default_rng(0)
            photo = rng.integers(0, 256, (64, 80, 3)).astype(np.uint8)
            mask = np.zeros((64, 80), np.uint8); mask[20:40, 24:56] = 1
            a = ki.Inpainter.from_preset("hf://org/deepfill").inpaint(photo, mask)
            b = ki.Inpainter.from_preset({str(tmp_path / "df")!r}).inpaint(photo, mask)
            print("IDENTICAL", bool(np.array_equal(a, b)))
            """
        result = run_python(code, {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_DISABLE_XET": "1"})
        assert result.returncode == 0, result.stderr[-3000:]
        assert "IDENTICAL True" in result.stdout
        card = hub.repos["org/deepfill"]["files"]["README.md"].decode()
    header = card.split("---")[1]
    assert "license: cc-by-nc-4.0" in header
    assert "non-commercial" in card.lower() and "states_tf_places2.npz" in card and "sha256" in card
