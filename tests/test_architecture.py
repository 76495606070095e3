"""The package's dependencies point one way, and no import hides inside a function to dodge a cycle."""

import ast
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_layers_contract_holds():
    """import-linter checks the layers listed in pyproject.toml ([tool.importlinter])."""
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the test extra"
    result = subprocess.run([lint, "pyproject.toml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_no_package_import_inside_a_function():
    """keras_inpaint modules import each other at the top only (the CLI excepted: it imports the
    heavy modules a verb needs when that verb runs)."""
    offenders = []
    for folder, _, files in os.walk(os.path.join(ROOT, "keras_inpaint")):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or name == "cli.py":
                continue
            tree = ast.parse(open(path, encoding="utf-8").read())
            for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_inpaint"):
                        offenders.append(f"{os.path.relpath(path, ROOT)}:{node.lineno} {node.module}")
    assert not offenders, offenders
