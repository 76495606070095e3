import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_subpackage_is_listed_in_pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    found = {"keras_inpaint.model_cards"}
    for folder, _, files in os.walk(os.path.join(ROOT, "keras_inpaint")):
        if "__init__.py" in files and "__pycache__" not in folder:
            found.add(os.path.relpath(folder, ROOT).replace(os.sep, "."))
    assert found == listed


def test_every_family_has_a_model_card():
    from keras_inpaint.models import registry

    families = {entry["metadata"]["family"] for entry in registry.builtin_presets().values()}
    for family in families:
        card = os.path.join(ROOT, "model_cards", f"{family}.md")
        assert os.path.exists(card), card
        text = open(card, encoding="utf-8").read()
        assert "license" in text.lower() and "Limitations" in text


def test_every_builtin_preset_file_is_package_data():
    """A wheel (not only a checkout) holds every built-in preset folder: the package-data globs
    cover each of their files."""
    import fnmatch

    from keras_inpaint.models import registry

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["keras_inpaint"]
    package = os.path.join(ROOT, "keras_inpaint")
    for entry in registry.builtin_presets().values():
        folder = entry["kaggle_handle"]
        assert os.path.realpath(folder).startswith(os.path.realpath(package)), folder
        for name in os.listdir(folder):
            relative = os.path.relpath(os.path.join(folder, name), package).replace(os.sep, "/")
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_every_data_file_of_the_package_is_package_data():
    """Every file under keras_inpaint/ that is not Python (the sample photos, the preset folders,
    the page that ``keras-inpaint serve`` ships in web/) is matched by a package-data glob, so a
    wheel holds it and the served page works without a checkout."""
    import fnmatch

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["keras_inpaint"]
    package = os.path.join(ROOT, "keras_inpaint")
    data = []
    for folder, folders, files in os.walk(package):
        folders[:] = [d for d in folders if d != "__pycache__"]
        data += [os.path.relpath(os.path.join(folder, name), package).replace(os.sep, "/")
                 for name in files if not name.endswith((".py", ".pyc"))]
    assert {"web/index.html", "web/app.js", "web/style.css", "assets/chelsea.jpg"} <= set(data)
    for relative in data:
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
