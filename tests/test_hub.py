"""Hub tests, offline and real: a pre-filled Hugging Face cache, and a local Hub-compatible server.

Real ``huggingface_hub`` code runs in both; nothing of ours is mocked. Round trips run in a
subprocess so that HF_ENDPOINT and HF_HOME are set before huggingface_hub is imported.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras_inpaint as ki
from keras_inpaint import PresetError
from keras_inpaint.hub import parse_handle, render_model_card, validate_preset_dir
from tests.hub_server import TOKEN, FakeHub

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = os.path.join(ROOT, "keras_inpaint", "models", "lama", "presets", "lama_tiny")


def run_python(code: str, env_extra: dict, timeout=300):
    env = {**os.environ, **env_extra}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=timeout, env=env, cwd=ROOT)
    return result


def make_cache(hf_home, repo_id, preset_dir, commit="a" * 40, ref="main"):
    """Lay a preset out as huggingface_hub's cache does: blobs/, snapshots/<commit>/, refs/<ref>."""
    repo_dir = os.path.join(hf_home, "hub", "models--" + repo_id.replace("/", "--"))
    snapshot = os.path.join(repo_dir, "snapshots", commit)
    os.makedirs(os.path.join(repo_dir, "blobs"), exist_ok=True)
    os.makedirs(snapshot, exist_ok=True)
    os.makedirs(os.path.join(repo_dir, "refs"), exist_ok=True)
    import hashlib

    for name in os.listdir(preset_dir):
        data = open(os.path.join(preset_dir, name), "rb").read()
        blob = os.path.join(repo_dir, "blobs", hashlib.sha256(data).hexdigest())
        with open(blob, "wb") as f:
            f.write(data)
        os.symlink(os.path.relpath(blob, snapshot), os.path.join(snapshot, name))
    with open(os.path.join(repo_dir, "refs", ref), "w") as f:
        f.write(commit)


def test_parse_handle():
    assert parse_handle("hf://org/name") == ("org/name", None)
    assert parse_handle("hf://org/name@v1.0") == ("org/name", "v1.0")
    assert parse_handle("hf://org/name", revision="abc") == ("org/name", "abc")
    with pytest.raises(PresetError, match="form 'hf://org/name'"):
        parse_handle("hf://just-a-name")
    with pytest.raises(PresetError, match="pins revision"):
        parse_handle("hf://org/name@v1", revision="v2")


def test_cached_preset_loads_offline_with_revision(tmp_path, sample_photo):
    make_cache(str(tmp_path), "org/lama-tiny", BUNDLED, commit="c" * 40, ref="main")
    code = """
        import numpy as np, time, keras_inpaint as ki
        from keras_inpaint.data import load_rgb
        photo = load_rgb("keras_inpaint/assets/chelsea.jpg")[:64, :96]
        mask = np.zeros(photo.shape[:2], np.uint8); mask[10:30, 20:50] = 1
        a = ki.Inpainter.from_preset("hf://org/lama-tiny").inpaint(photo, mask)
        b = ki.Inpainter.from_preset("hf://org/lama-tiny@" + "c" * 40).inpaint(photo, mask)
        c = ki.Inpainter.from_preset("lama_tiny").inpaint(photo, mask)
        assert np.array_equal(a, c) and np.array_equal(b, c)
        start = time.time()
        try:
            ki.Inpainter.from_preset("hf://org/not-cached")
        except ki.PresetError as e:
            print("ERROR", round(time.time() - start, 2), e)
        """
    result = run_python(code, {"HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    line = [l for l in result.stdout.splitlines() if l.startswith("ERROR")][0]
    seconds = float(line.split()[1])
    assert "'org/not-cached' is not in the Hugging Face cache and HF_HUB_OFFLINE is set" in line
    assert seconds < 5  # fails at once, no retries


def test_model_card_yaml_header_is_valid():
    from huggingface_hub import ModelCard

    card = render_model_card(BUNDLED, "org/lama-tiny", metrics={"val_medium_256": {"psnr_hole": 21.5, "ssim_hole": 0.61}})
    reparsed = ModelCard(str(card))
    data = reparsed.data.to_dict()
    assert data["library_name"] == "keras" and data["license"] == "apache-2.0"
    assert data["pipeline_tag"] == "image-to-image"
    assert {"image-inpainting", "keras", "gan"} <= set(data["tags"])
    results = data["model-index"][0]["results"][0]
    assert {m["type"]: m["value"] for m in results["metrics"]} == {"psnr_hole": 21.5, "ssim_hole": 0.61}
    assert 'Inpainter.from_preset("hf://org/lama-tiny")' in str(card)
    assert "Apache-2.0" in str(card) and "706,870 trainable generator parameters" in str(card)
    assert "Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07)" in str(card) and "registered_name" not in str(card)


def test_usage_snippet_in_the_card_runs():
    card = str(render_model_card(BUNDLED, "org/lama-tiny"))
    snippet = card.split("```python\n")[1].split("```")[0].replace("hf://org/lama-tiny", BUNDLED)
    namespace = {}
    exec(compile(snippet, "model_card_snippet", "exec"), namespace)  # noqa: S102 - our own card's snippet
    assert namespace["filled"].shape == (256, 256, 3)


def test_upload_validates_before_any_network_call(tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(BUNDLED, broken)
    os.remove(broken / "model.weights.h5")
    with FakeHub() as hub:
        with pytest.raises(PresetError, match="missing model.weights.h5; nothing was uploaded"):
            ki.upload_preset("hf://org/broken", str(broken))
        assert hub.requests == []
    (broken / "model.weights.h5").write_bytes(b"garbage")
    with pytest.raises(PresetError, match="could not load the generator weights"):
        validate_preset_dir(str(broken))


def test_upload_download_round_trip_against_a_local_hub(tmp_path):
    with FakeHub() as hub:
        code = f"""
            import json, numpy as np, keras_inpaint as ki
            from keras_inpaint.data import load_rgb
            url = ki.upload_preset("hf://org/lama-tiny", {BUNDLED!r}, private=False, token={TOKEN!r})
            print("URL", url)
            private_url = ki.upload_preset("hf://org/secret", {BUNDLED!r}, private=True, token={TOKEN!r})
            photo = load_rgb("keras_inpaint/assets/chelsea.jpg")[:64, :96]
            mask = np.zeros(photo.shape[:2], np.uint8); mask[10:30, 20:50] = 1
            a = ki.Inpainter.from_preset("hf://org/lama-tiny").inpaint(photo, mask)
            b = ki.Inpainter.from_preset("lama_tiny").inpaint(photo, mask)
            print("IDENTICAL", bool(np.array_equal(a, b)))
            from tests.models.test_preset_loading import without_names
            same = (without_names(ki.InpaintingGAN.from_preset("hf://org/lama-tiny").get_config())
                    == without_names(ki.InpaintingGAN.from_preset("lama_tiny").get_config()))
            print("SAME RECIPE", same)
            commit = url.rstrip("/").split("/")[-1]
            c = ki.Inpainter.from_preset("hf://org/lama-tiny@" + commit).inpaint(photo, mask)
            print("PINNED", bool(np.array_equal(c, b)))
            for handle in ("hf://org/missing", "hf://org/secret", "hf://org/lama-tiny@" + "f" * 40):
                try:
                    ki.Inpainter.from_preset(handle)
                except ki.PresetError as e:
                    print("ERROR", handle, "|", e)
            """
        result = run_python(code, {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_DISABLE_XET": "1",
                                   "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "5"})
        assert result.returncode == 0, result.stderr[-4000:]
        out = result.stdout
        assert f"URL {hub.url}/org/lama-tiny/commit/" in out
        assert "IDENTICAL True" in out and "PINNED True" in out and "SAME RECIPE True" in out
        errors = {l.split(" | ")[0].split()[1]: l.split(" | ")[1] for l in out.splitlines() if l.startswith("ERROR")}
        assert "does not exist, or it is private" in errors["hf://org/missing"]
        assert "does not exist, or it is private" in errors["hf://org/secret"]
        assert "has no revision" in errors["hf://org/lama-tiny@" + "f" * 40]
        files = hub.repos["org/lama-tiny"]["files"]
        assert {"README.md", "config.json", "metadata.json", "model.weights.h5"} <= set(files)
        assert files["README.md"].startswith(b"---\nlibrary_name: keras")
        assert hub.repos["org/secret"]["private"] is True
        assert ("POST", "/api/validate-yaml") in hub.requests  # the card's header went through the Hub's check
