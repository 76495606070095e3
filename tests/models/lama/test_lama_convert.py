"""LaMa checkpoint converter: official weights and outputs (shared fixture), Lightning checkpoints
written here in torch's format (no torch), a numpy NLayerDiscriminator, bad input, fine-tuning."""

import os

import keras
import numpy as np
import pytest

from keras_inpaint import InpaintingGAN, count_parameters
from keras_inpaint.checkpoints import read_state_dict
from keras_inpaint.errors import CheckpointError
from keras_inpaint.models.lama import LamaDiscriminator, LamaGenerator, convert
from tests.models.family_test_case import check_config_round_trip
from tests.test_checkpoints import lama_hyper_parameters, lightning_checkpoint, write_torch_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REFERENCE = os.path.join(ROOT, "..", "shared", "fixtures", "lama_reference")
needs_reference = pytest.mark.skipif(
    not os.path.isdir(REFERENCE), reason=f"LaMa reference fixture folder {os.path.normpath(REFERENCE)} is absent"
)


def nhwc(array):
    return np.transpose(array, (0, 2, 3, 1))


def logits_of(generator, inputs_nhwc):
    """The pre-sigmoid output of a LamaGenerator for LaMa-style inputs (image in [0, 1] with holes at 0, mask)."""
    ours = np.concatenate([inputs_nhwc[..., :3] * 2.0 - 1.0, inputs_nhwc[..., 3:]], axis=-1)
    model = keras.Model(generator.input, generator.get_layer("logits").output)
    return np.asarray(model(ours, training=False))


def reference_weights():
    return read_state_dict(os.path.join(REFERENCE, "weights.npz"))


def reference_io():
    with np.load(os.path.join(REFERENCE, "io.npz")) as io:
        return {k: io[k] for k in io.files}


def nlayer_state(ndf=8, n_layers=4, input_nc=3, seed=0):
    """Random weights in the layout of LaMa's NLayerDiscriminator (pix2pixhd.py): ``model0`` conv
    ndf (stride 2), ``model1..model{n-1}`` conv + BN stride 2, ``model{n}`` conv + BN stride 1,
    channels ``nf = min(nf * 2, 512)``, then ``model{n+1}`` conv to 1 channel; 4x4 kernels, biases."""
    rng = np.random.default_rng(seed)
    state = {}

    def conv(name, cin, cout):
        state[f"{name}.weight"] = (rng.standard_normal((cout, cin, 4, 4)) / np.sqrt(16 * cin)).astype(np.float32)
        state[f"{name}.bias"] = rng.uniform(-0.1, 0.1, cout).astype(np.float32)

    def bn(name, c):
        state[f"{name}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        state[f"{name}.bias"] = rng.uniform(-0.2, 0.2, c).astype(np.float32)
        state[f"{name}.running_mean"] = rng.uniform(-0.2, 0.2, c).astype(np.float32)
        state[f"{name}.running_var"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
        state[f"{name}.num_batches_tracked"] = np.array(100, np.int64)

    conv("model0.0", input_nc, ndf)
    nf = ndf
    for n in range(1, n_layers + 1):
        nf_prev, nf = nf, min(nf * 2, 512)
        conv(f"model{n}.0", nf_prev, nf)
        bn(f"model{n}.1", nf)
    conv(f"model{n_layers + 1}.0", nf, 1)
    return state


def numpy_nlayer_forward(state, images01, n_layers):
    """LaMa's NLayerDiscriminator.forward in float64 numpy, NCHW, from PyTorch-layout weights:
    Conv2d(k=4, padding=2, stride 2 for model0..model{n-1}, 1 after) -> eval BatchNorm (eps 1e-5)
    -> LeakyReLU(0.2); returns (logits, [activation of model0 .. model{n}])."""

    def conv(x, w, b, stride):
        x = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
        windows = np.lib.stride_tricks.sliding_window_view(x, (4, 4), axis=(2, 3))[:, :, ::stride, ::stride]
        return np.einsum("nchwij,ocij->nohw", windows, w.astype(np.float64)) + b[None, :, None, None]

    def bn(x, name):
        scale = state[f"{name}.weight"] / np.sqrt(state[f"{name}.running_var"].astype(np.float64) + 1e-5)
        return (x - state[f"{name}.running_mean"][None, :, None, None]) * scale[None, :, None, None] \
            + state[f"{name}.bias"][None, :, None, None]

    x = images01.astype(np.float64)
    features = []
    for n in range(n_layers + 1):
        x = conv(x, state[f"model{n}.0.weight"], state[f"model{n}.0.bias"], 2 if n < n_layers else 1)
        if n > 0:
            x = bn(x, f"model{n}.1")
        x = np.where(x > 0, x, 0.2 * x)
        features.append(x)
    logits = conv(x, state[f"model{n_layers + 1}.0.weight"], state[f"model{n_layers + 1}.0.bias"], 1)
    return logits, features


def test_interface():
    assert convert.FAMILY == "lama"
    assert convert.SOURCE == {"work": "LaMa (Suvorov et al., WACV 2022)", "code": "https://github.com/advimman/lama",
                              "license": "Apache-2.0", "hub_license": "apache-2.0"}
    assert convert.INFERENCE["pad_to_multiple"] == 8 and convert.INFERENCE["pad_mode"] == "symmetric"
    assert convert.INFERENCE["output_activation"] == "sigmoid"
    for function in (convert.matches, convert.convert_generator, convert.convert_discriminator):
        assert callable(function)


@needs_reference
def test_converted_generator_reproduces_official_outputs():
    """The official LaMa generator (ngf 8, 2 blocks, eval BatchNorm) on a 61x83 photo padded to 64x88."""
    state = reference_weights()
    assert convert.matches(state) and convert.convert_discriminator(state) is None
    generator = convert.convert_generator(state)
    assert isinstance(generator, LamaGenerator) and count_parameters(generator) == 135_571
    assert (generator.base_filters, generator.num_downsamplings, generator.num_blocks, generator.global_ratio) == (8, 3, 2, 0.75)
    io = reference_io()

    # INFERENCE: the fixture's inputs are the 61x83 photo padded bottom/right with numpy "symmetric" to 64x88.
    image, mask = io["image"][:, :, :61, :83], io["mask"][:, :, :61, :83]
    pad = ((0, 0), (0, 0), (0, 3), (0, 5))
    np.testing.assert_array_equal(np.pad(image, pad, mode="symmetric"), io["image"])
    np.testing.assert_array_equal(np.pad(mask, pad, mode="symmetric") > 0, io["mask"] > 0)
    net_input = np.concatenate([io["image"] * (1 - io["mask"]), io["mask"]], axis=1)
    np.testing.assert_array_equal(net_input, io["input"])

    logits = logits_of(generator, nhwc(io["input"]))
    error = np.abs(logits - nhwc(io["logits"])).max()
    assert error <= 1e-4, error  # measured: 6.0e-8 (logits up to 0.18)
    output = (np.asarray(generator(nhwc(io["input"]) * np.array([2, 2, 2, 1], np.float32) - np.array([1, 1, 1, 0], np.float32),
                                   training=False)) + 1) / 2
    np.testing.assert_allclose(output, nhwc(io["output"]), atol=1e-6, rtol=0)
    inpainted = nhwc(io["mask"]) * output + (1 - nhwc(io["mask"])) * nhwc(io["image"])
    np.testing.assert_allclose(inpainted, nhwc(io["inpainted"]), atol=1e-6, rtol=0)


@needs_reference
def test_converter_writes_a_preset_that_reloads(tmp_path):
    from keras_inpaint import Inpainter

    from keras_inpaint.convert import convert_checkpoint

    convert_checkpoint(os.path.join(REFERENCE, "weights.npz"), str(tmp_path / "preset"))
    reloaded = Inpainter.from_preset(str(tmp_path / "preset"))
    assert reloaded.working_size is None and reloaded.blend is None and reloaded.pad_mode == "symmetric"
    io = reference_io()
    np.testing.assert_allclose(logits_of(reloaded.backbone, nhwc(io["input"])), nhwc(io["logits"]), atol=1e-4)
    # Through .inpaint on the padded size (no further padding): LaMa's inpainted array.
    filled = reloaded.inpaint(nhwc(io["image"]), nhwc(io["mask"]))
    np.testing.assert_allclose(filled, nhwc(io["inpainted"]), atol=1e-5)


@needs_reference
def test_lightning_checkpoint_converts_generator_and_discriminator(tmp_path):
    """A LaMa training checkpoint as Lightning writes it: generator.*, discriminator.*, another module's
    tensors (ignored), optimizer states and OmegaConf hyper_parameters; read without torch."""
    generator_weights = reference_weights()
    d_weights = nlayer_state(ndf=8, n_layers=4, seed=1)
    state = {**{f"generator.{k}": v for k, v in generator_weights.items()},
             **{f"discriminator.{k}": v for k, v in d_weights.items()},
             "loss_resnet_pl.impl.conv1.weight": np.zeros((2, 3, 3, 3), np.float32)}
    path = write_torch_checkpoint(tmp_path / "best.ckpt", lightning_checkpoint(state, lama_hyper_parameters(ndf=8, n_layers=4)))
    checkpoint = read_state_dict(path)
    assert convert.matches(checkpoint) and convert.matches(checkpoint["state_dict"])

    generator = convert.convert_generator(checkpoint)
    io = reference_io()
    assert np.abs(logits_of(generator, nhwc(io["input"])) - nhwc(io["logits"])).max() <= 1e-4
    assert convert.convert_generator(path).count_params() == generator.count_params()  # a path works too

    discriminator = convert.convert_discriminator(checkpoint)
    assert isinstance(discriminator, LamaDiscriminator)
    assert (discriminator.base_filters, discriminator.num_layers, discriminator.max_filters) == (8, 4, 512)
    # Layer by layer: LaMa's channels (8, 16, 32, 64, 128: capped at 512, not at 8 x ndf) and placement.
    for i in range(5):
        kernel = discriminator.get_layer(f"layer{i}_conv").kernel.numpy()
        np.testing.assert_array_equal(kernel, np.transpose(d_weights[f"model{i}.0.weight"], (2, 3, 1, 0)))
        np.testing.assert_array_equal(discriminator.get_layer(f"layer{i}_conv").bias.numpy(), d_weights[f"model{i}.0.bias"])
        if i:
            gamma, beta, mean, var = discriminator.get_layer(f"layer{i}_bn").get_weights()
            for ours, key in ((gamma, "weight"), (beta, "bias"), (mean, "running_mean"), (var, "running_var")):
                np.testing.assert_array_equal(ours, d_weights[f"model{i}.1.{key}"])
    assert discriminator.get_layer("layer4_conv").kernel.shape == (4, 4, 64, 128)
    np.testing.assert_array_equal(discriminator.get_layer("logits_conv").kernel.numpy(),
                                  np.transpose(d_weights["model5.0.weight"], (2, 3, 1, 0)))
    # The whole forward: LaMa's discriminator on [0, 1] images = ours on the same images in [-1, 1].
    images01 = np.random.default_rng(2).uniform(0, 1, (2, 3, 48, 40)).astype(np.float32)
    reference, reference_features = numpy_nlayer_forward(d_weights, images01, n_layers=4)
    logits, features = discriminator(nhwc(images01) * 2 - 1, training=False)
    assert np.asarray(logits).shape == (2, 6, 6, 1) == nhwc(reference).shape
    error = np.abs(np.asarray(logits) - nhwc(reference)).max()
    assert error < 1e-4, error  # measured: 2.5e-7 (logits up to 0.14)
    assert len(features) == 5
    for ours, theirs in zip(features, reference_features):
        np.testing.assert_allclose(np.asarray(ours), nhwc(theirs), atol=1e-4, rtol=0)
    check_config_round_trip(discriminator)


def test_matches():
    d_state = nlayer_state(ndf=4, n_layers=2)
    lama_like = {"model.1.ffc.convl2l.weight": np.zeros((8, 4, 7, 7), np.float32),
                 "model.5.conv1.ffc.convl2l.weight": np.zeros((16, 64, 3, 3), np.float32)}
    assert convert.matches(lama_like)
    assert convert.matches({f"generator.{k}": v for k, v in lama_like.items()})
    assert convert.matches({"state_dict": {f"generator.{k}": v for k, v in lama_like.items()}, "epoch": 1})
    assert not convert.matches({"conv1.conv.weight": np.zeros((32, 5, 5, 5)), "conv1.gate.weight": np.zeros(3)})
    assert not convert.matches({f"discriminator.{k}": v for k, v in d_state.items()})
    assert not convert.matches({"model.1.ffc.convl2l.weight": np.zeros((8, 4, 7, 7))})  # no FFC blocks
    assert not convert.matches([1, 2, 3])


def _small_generator_state(seed=0):
    """A LaMa-layout generator state dict (ngf 8, 1 block), exported from a Keras model by the inverse mapping."""
    keras.utils.set_random_seed(seed)
    generator = LamaGenerator(base_filters=8, num_blocks=1)
    plan, batchnorms = [], []
    for layer in generator.layers:
        if layer.weights:
            convert._plan_layer(layer, layer.name, plan, batchnorms)
    state = {}
    for key, variable, transform in plan:
        value = variable.numpy()
        state[key] = np.transpose(value, (3, 2, 0, 1)) if transform is not None else value
    return generator, state


def test_bad_checkpoints_are_named(tmp_path):
    _, state = _small_generator_state()
    generator = convert.convert_generator(state)  # the round trip works
    assert count_parameters(generator) == count_parameters(LamaGenerator(base_filters=8, num_blocks=1))

    with pytest.raises(CheckpointError, match="not a LaMa FFCResNetGenerator state dict: no 'model.1.ffc.convl2l.weight'"):
        convert.convert_generator({"conv1.conv.weight": np.zeros((32, 5, 5, 5), np.float32)})  # DeepFill v2's names
    missing = {k: v for k, v in state.items() if k != "model.5.conv1.ffc.convg2g.fu.bn.running_var"}
    with pytest.raises(CheckpointError, match=r"LaMa generator state dict does not fit: missing 'model.5.conv1.ffc.convg2g.fu.bn.running_var'"):
        convert.convert_generator(missing)
    extra = {**state, "model.5.conv1.ffc.convg2g.lfu.weight": np.zeros(3, np.float32)}
    with pytest.raises(CheckpointError, match=r"unexpected 'model.5.conv1.ffc.convg2g.lfu.weight'"):
        convert.convert_generator(extra)
    wrong = {**state, "model.10.weight": np.zeros((8, 33, 3, 3), np.float32)}  # the 2nd transposed conv
    with pytest.raises(CheckpointError, match=r"wrong shape 'model.10.weight' \(8, 33, 3, 3\) instead of \(32, 16, 3, 3\)"):
        convert.convert_generator(wrong)
    integer = {**state, "model.1.bn_l.weight": np.ones(8, np.int64)}
    with pytest.raises(CheckpointError, match="'model.1.bn_l.weight' has dtype int64"):
        convert.convert_generator(integer)

    d_state = {f"discriminator.{k}": v for k, v in nlayer_state(ndf=4, n_layers=2).items()}
    with pytest.raises(CheckpointError, match=r"LaMa discriminator state dict does not fit: missing 'model2.1.running_mean'"):
        convert.convert_discriminator({k: v for k, v in d_state.items() if k != "discriminator.model2.1.running_mean"})
    with pytest.raises(CheckpointError, match=r"wrong shape 'model1.0.weight' \(9, 4, 4, 4\)"):
        convert.convert_discriminator({**d_state, "discriminator.model1.0.weight": np.zeros((9, 4, 4, 4), np.float32)})
    with pytest.raises(CheckpointError, match="model0 .. model"):
        convert.convert_discriminator({**d_state, "discriminator.model7.0.bias": np.zeros(1, np.float32)})

    checkpoint = write_torch_checkpoint(tmp_path / "g.pth", {"state_dict": {f"generator.{k}": v for k, v in state.items()}})
    data = open(checkpoint, "rb").read()
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CheckpointError, match="truncated"):
        convert.convert_generator(str(truncated))
    with pytest.raises(CheckpointError, match="truncated"):
        convert.load_state_dict(str(truncated))


def test_write_tensors_by_hand_round_trip(tmp_path):
    """A plain .pth of the generator's state dict (no prefix), in torch's zip format, converts."""
    from tests.test_checkpoints import tensor

    keras_generator, state = _small_generator_state(seed=3)
    path = write_torch_checkpoint(tmp_path / "generator.pth", {k: tensor(v) for k, v in state.items()})
    converted = convert.convert_generator(path)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 40, 4)).astype(np.float32)
    x[..., 3:] = x[..., 3:] > 0
    np.testing.assert_array_equal(np.asarray(converted(x, training=False)), np.asarray(keras_generator(x, training=False)))


def test_full_size_parameter_counts_match_official_lama():
    """The configurations the converter infers from full-size checkpoints' shapes have the official counts:
    lama-fourier 27,048,835, big-lama 50,975,875, NLayer discriminator (ndf 64, n_layers 4) 6,962,369."""

    def shapes_only(blocks):  # the tensors infer_config reads, as zero-stride arrays (no memory)
        state = {"model.1.ffc.convl2l.weight": np.broadcast_to(np.float32(0), (64, 4, 7, 7))}
        for i, (cin, cout) in enumerate([(64, 128), (128, 256), (256, 512)]):
            state[f"model.{2 + i}.ffc.convl2l.weight"] = np.broadcast_to(np.float32(0), (cout, cin, 3, 3))
        for b in range(5, 5 + blocks):
            state[f"model.{b}.conv1.ffc.convl2l.weight"] = np.broadcast_to(np.float32(0), (128, 128, 3, 3))
            state[f"model.{b}.conv1.ffc.convl2g.weight"] = np.broadcast_to(np.float32(0), (384, 128, 3, 3))
        return state

    for blocks, official in ((9, 27_048_835), (18, 50_975_875)):
        config = convert.infer_config(shapes_only(blocks))
        assert config == {"base_filters": 64, "num_downsamplings": 3, "num_blocks": blocks, "global_ratio": 0.75}
        assert count_parameters(LamaGenerator(**config)) == official
    d_state = nlayer_state(ndf=64, n_layers=4)
    config = convert.infer_discriminator_config(d_state)
    assert count_parameters(LamaDiscriminator(**config)) == 6_962_369
    assert count_parameters(LamaDiscriminator()) == 6_962_369  # the default (PatchGAN cap) agrees at ndf 64
    assert sum(v.size for k, v in d_state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))) == 6_962_369


@needs_reference
def test_converted_networks_fine_tune_in_inpainting_gan(tmp_path):
    """A few InpaintingGAN steps from the converted generator and discriminator: losses finite, both move."""
    import tensorflow as tf

    state = {**{f"generator.{k}": v for k, v in reference_weights().items()},
             **{f"discriminator.{k}": v for k, v in nlayer_state(ndf=8, n_layers=3).items()}}
    generator, discriminator = convert.convert_generator(state), convert.convert_discriminator(state)
    model = InpaintingGAN(generator, discriminator, seed=0)
    model.compile(jit_compile=False)
    d_before = [w.numpy().copy() for w in discriminator.trainable_weights]
    g_before = [w.numpy().copy() for w in generator.trainable_weights]
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    masks = np.zeros((4, 32, 32, 1), np.float32)
    masks[:, 8:24, 10:26] = 1
    history = model.fit(tf.data.Dataset.from_tensor_slices((images, masks)).batch(2), epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][-1]) and np.isfinite(history.history["d_loss"][-1])
    assert any(np.abs(w.numpy() - b).max() > 0 for w, b in zip(discriminator.trainable_weights, d_before))
    assert any(np.abs(w.numpy() - b).max() > 0 for w, b in zip(generator.trainable_weights, g_before))
