"""The command line reads its defaults and choices from the library's source without importing
it (keras_inpaint.source_facts); these tests hold every value to the imported library's."""

import inspect
import subprocess
import sys

from keras_inpaint import source_facts
from keras_inpaint.cli import BASELINES, EVALUATE_DEFAULTS, FAMILIES, GAN_DEFAULTS, LOSS_WEIGHT_FLAGS, LR_SCHEDULES, TRAIN_DEFAULTS


def runtime_defaults(function) -> dict:
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def test_defaults_equal_the_imported_signatures():
    from keras_inpaint import evaluation, training
    from keras_inpaint.models.inpainting_gan import InpaintingGAN

    train = runtime_defaults(training.train)
    assert TRAIN_DEFAULTS == {k: v for k, v in train.items() if k in TRAIN_DEFAULTS} and len(TRAIN_DEFAULTS) >= 10
    evaluate = runtime_defaults(evaluation.evaluate)
    assert EVALUATE_DEFAULTS == {k: v for k, v in evaluate.items() if k in EVALUATE_DEFAULTS}
    assert evaluate["baselines"] == BASELINES == evaluation.BASELINES  # a name, read as the constant
    gan = runtime_defaults(InpaintingGAN.__init__)
    assert GAN_DEFAULTS == {k: v for k, v in gan.items() if k in GAN_DEFAULTS} and "ema_momentum" in GAN_DEFAULTS
    assert LR_SCHEDULES == training.LR_SCHEDULES


def test_loss_flags_and_families_equal_the_library_tables():
    from keras_inpaint.convert import CONVERTERS
    from keras_inpaint.models.inpainting_gan import DISCRIMINATOR_TERMS, GENERATOR_TERMS

    assert LOSS_WEIGHT_FLAGS == {t.weight: t.help for t in GENERATOR_TERMS + DISCRIMINATOR_TERMS if t.weight}
    assert FAMILIES == sorted(CONVERTERS)


def test_keyword_defaults_reads_methods_and_skips_non_literals(tmp_path, monkeypatch):
    (tmp_path / "facts_probe.py").write_text(
        "X = (1, 'a')\nclass C:\n    def __init__(self, a, b=2, *, c=len, d='x'):\n        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert source_facts.keyword_defaults("facts_probe", "C.__init__") == {"b": 2, "d": "x"}
    assert source_facts.constant("facts_probe", "X") == (1, "a")


def test_parser_imports_no_tensorflow():
    code = ("import sys; from keras_inpaint.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_hub', 'jax', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
