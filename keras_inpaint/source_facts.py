"""Facts the command line's parser needs, read from the library's source without importing it.

``keras-inpaint --help`` must answer in well under a second, and importing the library's
training or model modules imports TensorFlow (seconds). The parser's defaults and choices are
still the library's own — the keyword defaults of ``training.train``, the loss-weight table of
``InpaintingGAN`` — read here from the modules' syntax trees (:mod:`ast`), which runs none of
their code. ``tests/test_source_facts.py`` checks every value against the imported library.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os


@functools.cache
def _tree(module: str) -> ast.Module:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot locate the source of {module}")
    with open(spec.origin, encoding="utf-8") as f:
        return ast.parse(f.read(), filename=spec.origin)


def _find(nodes, kind, name: str):
    for node in nodes:
        if isinstance(node, kind) and node.name == name:
            return node
    raise LookupError(f"no {kind.__name__} {name}")


def keyword_defaults(module: str, qualname: str) -> dict:
    """The literal keyword defaults of ``module.qualname`` (a function or ``Class.method``);
    like ``inspect.signature`` but without importing ``module``. Non-literal defaults are
    left out."""
    body = _tree(module).body
    *owners, function = qualname.split(".")
    for owner in owners:
        body = _find(body, ast.ClassDef, owner).body
    node = _find(body, (ast.FunctionDef, ast.AsyncFunctionDef), function)
    arguments = node.args
    positional = arguments.posonlyargs + arguments.args
    pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
    pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    defaults = {}
    for argument, default in pairs:
        try:
            defaults[argument.arg] = ast.literal_eval(default)
        except ValueError:
            continue
    return defaults


def constant(module: str, name: str):
    """The literal value of a module-level ``NAME = <literal>`` (a tuple of choices, say)."""
    for node in _tree(module).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
            return ast.literal_eval(node.value)
    raise LookupError(f"{module} has no literal {name}")


def loss_weights(module: str = "keras_inpaint.models.inpainting_gan") -> dict[str, str]:
    """Weight argument -> help text of every weighted ``LossTerm(name, weight, compute, help)``
    row in ``module`` (the loss table ``train`` exposes as ``--<weight>`` options)."""
    weights = {}
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "LossTerm" and len(node.args) >= 4:
            weight, help_text = node.args[1], node.args[3]
            if isinstance(weight, ast.Constant) and isinstance(weight.value, str):
                weights[weight.value] = ast.literal_eval(help_text)
    return weights


def converter_families() -> list[str]:
    """The families with a checkpoint converter: ``models/<family>/convert.py`` exists."""
    models = os.path.join(os.path.dirname(__file__), "models")
    return sorted(name for name in os.listdir(models) if os.path.isfile(os.path.join(models, name, "convert.py")))
