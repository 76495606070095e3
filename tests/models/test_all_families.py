"""Every registered family runs the shared family harness (tests/models/family_test_case.py)."""

import importlib
import inspect

from keras_inpaint.models import registry
from tests.models.family_test_case import FamilyTestCase


def test_every_registered_family_runs_the_harness():
    families = {entry["metadata"]["family"] for entry in registry.builtin_presets().values()}
    for family in families:
        module = importlib.import_module(f"tests.models.{family}.test_{family}")
        cases = [c for _, c in inspect.getmembers(module, inspect.isclass)
                 if issubclass(c, FamilyTestCase) and c is not FamilyTestCase and c.__name__.startswith("Test")]
        assert cases, f"tests/models/{family}/test_{family}.py has no FamilyTestCase subclass"
        generator_classes = {registry.generator_class_name(e["kaggle_handle"])
                             for e in registry.builtin_presets().values() if e["metadata"]["family"] == family}
        assert {c.generator_cls.__name__ for c in cases} <= generator_classes
