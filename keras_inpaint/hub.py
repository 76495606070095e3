"""Hugging Face Hub uploads: validate a preset, render its model card, publish it in one commit."""

from __future__ import annotations

import json
import os
from importlib import resources

from huggingface_hub import CommitOperationAdd, HfApi, ModelCard, ModelCardData
from huggingface_hub import errors as hf_errors
from huggingface_hub.repocard_data import EvalResult

from keras_inpaint.errors import PresetError
from keras_inpaint.hub_download import first_line, parse_handle
from keras_inpaint.models.preset_loading import count_parameters, load_generator
from keras_inpaint.models.registry import family_of_generator

REQUIRED_PRESET_FILES = ("config.json", "metadata.json", "model.weights.h5")


def validate_preset_dir(preset_dir: str) -> dict:
    """Check a preset directory before any network call; return its config.

    It must hold ``config.json`` (a keras_inpaint generator), ``metadata.json`` and
    ``model.weights.h5``, and its generator must build from the config and load the
    weights (so that nothing broken is ever published).
    """
    if not os.path.isdir(preset_dir):
        raise PresetError(f"preset directory {preset_dir!r} does not exist.")
    missing = [f for f in REQUIRED_PRESET_FILES if not os.path.exists(os.path.join(preset_dir, f))]
    if missing:
        raise PresetError(f"preset directory {preset_dir!r} is missing {', '.join(missing)}; nothing was uploaded.")
    load_generator(preset_dir)  # raises PresetError naming the problem
    with open(os.path.join(preset_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def _family_card(family: str) -> str:
    try:
        return resources.files("keras_inpaint.model_cards").joinpath(f"{family}.md").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(root, "model_cards", f"{family}.md"), encoding="utf-8") as f:
            return f.read()


_OPTIMIZER_SETTINGS = ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm", "global_clipnorm")


def _optimizer_summary(config):
    """``Adam(learning_rate=0.001, beta_1=0.9, ...)``: an optimizer's settings, not Keras's
    serialisation internals (registered names, loss-scale and EMA fields)."""
    if not isinstance(config, dict) or "class_name" not in config:
        return config
    settings = config.get("config", {})
    shown = ", ".join(f"{k}={settings[k]:.6g}" if isinstance(settings[k], float) else f"{k}={settings[k]}"
                      for k in _OPTIMIZER_SETTINGS if settings.get(k) is not None)  # float32 0.001 as 0.001
    return f"{config['class_name']}({shown})"


def _is_transport_error(error: Exception) -> bool:
    """A network failure below the Hub's API: OSError, or an error of the HTTP client that the
    installed huggingface_hub uses (requests in 0.x, httpx in 1.x, httpx2 in 2.x)."""
    root = type(error).__module__.split(".")[0]
    return isinstance(error, OSError) or root in ("httpx", "httpx2", "requests", "urllib3")


def render_model_card(preset_dir: str, repo_id: str, metrics: dict | None = None):
    """Render a ``huggingface_hub.ModelCard`` for a preset: YAML header, family card, counts, usage.

    ``metrics`` (optional) maps a dataset/mask-setting name to ``{"psnr_hole": ..., "ssim_hole": ...}``;
    when given (or when the preset holds ``metrics.json``) a ``model-index`` is written.
    """
    config = validate_preset_dir(preset_dir)
    with open(os.path.join(preset_dir, "metadata.json"), encoding="utf-8") as f:
        metadata = json.load(f)
    family_and_license = family_of_generator(config["class_name"])
    if family_and_license is None:
        raise PresetError(f"no model card for generator class {config['class_name']!r}.")
    family, license_id = family_and_license
    metrics_path = os.path.join(preset_dir, "metrics.json")
    if metrics is None and os.path.exists(metrics_path):
        with open(metrics_path, encoding="utf-8") as f:
            metrics = json.load(f)
    training = {}
    task_path = os.path.join(preset_dir, "task.json")
    if os.path.exists(task_path):
        with open(task_path, encoding="utf-8") as f:
            task_config = json.load(f)["config"]
        training = {k: _optimizer_summary(v) if k.endswith("optimizer") else v for k, v in task_config.items()
                    if k not in ("backbone", "discriminator", "perceptual_model", "name")}
    eval_results = None
    if metrics:
        eval_results = [
            EvalResult(task_type="image-inpainting", dataset_type=name, dataset_name=name, metric_type=metric,
                       metric_value=float(value), metric_name=metric)
            for name, values in metrics.items() for metric, value in values.items()
        ]
    card_data = ModelCardData(
        library_name="keras",
        license=license_id,
        tags=["image-inpainting", "keras", "keras-hub", "gan", "keras-inpaint", family],
        pipeline_tag="image-to-image",
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results,
    )
    arguments = {k: v for k, v in config["config"].items() if k not in ("name", "trainable", "dtype")}
    body = [
        f"# {repo_id}",
        "",
        f"A keras_inpaint `{config['class_name']}` preset ({family} family), "
        f"{count_parameters(load_generator(preset_dir, load_weights=False)):,} trainable generator parameters "
        f"(as `keras-inpaint presets` counts them), saved with Keras "
        f"{metadata.get('keras_version')} and keras-hub {metadata.get('keras_hub_version')}.",
        "",
        "## Usage",
        "",
        "```python",
        "import numpy as np",
        "import keras_inpaint",
        "",
        f'model = keras_inpaint.Inpainter.from_preset("hf://{repo_id}")',
        "image = np.zeros((256, 256, 3), np.uint8)          # your RGB photo",
        "mask = np.zeros((256, 256), np.uint8); mask[96:160, 96:160] = 1  # 1 = hole",
        "filled = model.inpaint(image, mask)",
        "```",
        "",
        "## Generator configuration",
        "",
        "```json",
        json.dumps(arguments, indent=2, sort_keys=True),
        "```",
    ]
    source = metadata.get("converted_from")
    if source:
        body += ["", "## Provenance", "",
                 f"Converted from `{source['file']}` (sha256 `{source['sha256']}`), the {source['work']} "
                 f"checkpoint; code: {source['code']}. License of the original weights: **{source['license']}**. "
                 f"Discriminator: {source['discriminator'] or 'none in the checkpoint; it starts fresh'}."]
    if training:
        body += ["", "## Training configuration", "", "```json", json.dumps(training, indent=2, sort_keys=True, default=str), "```"]
    if metrics:
        body += ["", "## Evaluation", "", "| setting | metric | value |", "|---|---|---|"]
        body += [f"| {name} | {metric} | {value:.4g} |" for name, values in metrics.items() for metric, value in values.items()]
    body += ["", _family_card(family)]
    return ModelCard("---\n" + card_data.to_yaml() + "\n---\n\n" + "\n".join(body) + "\n")


def upload_preset(handle: str, preset_dir: str, private: bool = False, token: str | None = None,
                  revision: str | None = None, commit_message: str | None = None) -> str:
    """Publish a preset directory to the Hugging Face Hub with a rendered model card.

    Validates the directory first (no network call for a broken preset), creates the repo
    if needed, renders ``README.md`` and uploads every file of the preset in one commit.
    Returns the commit URL.
    """
    repo_id, pinned = parse_handle(handle, revision)
    card = render_model_card(preset_dir, repo_id)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        card.validate(repo_type="model")  # the Hub's own YAML check of the header
        operations = [CommitOperationAdd("README.md", str(card).encode("utf-8"))]
        for name in sorted(os.listdir(preset_dir)):  # a converted preset's own README.md is replaced
            path = os.path.join(preset_dir, name)
            if os.path.isfile(path) and name != "README.md":
                operations.append(CommitOperationAdd(name, path))
        info = api.create_commit(repo_id, operations, commit_message=commit_message or "Upload keras_inpaint preset",
                                 revision=pinned, repo_type="model")
    except hf_errors.HfHubHTTPError as e:
        status = getattr(e.response, "status_code", None)
        advice = " (pass --token, set HF_TOKEN or run `hf auth login`)" if status in (401, 403) else ""
        raise PresetError(f"the Hugging Face Hub refused the upload to {repo_id!r}: {first_line(e)}{advice}") from e
    except Exception as e:
        if not _is_transport_error(e):
            raise
        raise PresetError(f"cannot reach the Hugging Face Hub to upload {repo_id!r}: {first_line(e)}") from e
    return info.commit_url
