"""``keras-inpaint serve`` (keras_inpaint/serve*.py): the HTTP API through Starlette's TestClient,
a real server (the command line, uvicorn on a free loopback port) under 20 concurrent requests,
and the page in a real Chromium driven by Playwright with real mouse events.

Every test uses the bundled trained ``lama_tiny`` (and ``migan_tiny`` where a second preset is
needed); no model is mocked. The browser test skips when Playwright or /usr/bin/chromium is
absent (``.ci/run`` installs both). ``UPDATE_SCREENSHOT=1`` makes the browser test write the
README's picture, benchmarks/results/serve/page.png.
"""

import concurrent.futures
import inspect
import io
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from keras_inpaint import serve, serve_models
from keras_inpaint.serve import create_app
from keras_inpaint.serve_models import ModelPool
from keras_inpaint.serve_uploads import read_upload

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREENSHOT = os.path.join(ROOT, "benchmarks", "results", "serve", "page.png")


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def box_mask(shape, top, left, height, width) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    mask[top:top + height, left:left + width] = 255
    return mask


@pytest.fixture(scope="module")
def pool():
    return ModelPool(["lama_tiny", "migan_tiny"])


@pytest.fixture(scope="module")
def client(pool):
    app = create_app(pool, max_upload_bytes=2 * 2**20, max_pixels=1_000_000)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as test_client:
        yield test_client


def post(client, image: bytes, mask: bytes | None, **fields):
    files = {"image": ("photo.png", image, "image/png")}
    if mask is not None:
        files["mask"] = ("mask.png", mask, "image/png")
    return client.post("/api/inpaint", files=files, data=fields)


# ---- the page ------------------------------------------------------------------------------

def test_page_is_the_packaged_files_with_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]  # the browser may fetch nothing else
    assert page.headers["x-content-type-options"] == "nosniff"
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = client.get(f"/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        with open(os.path.join(serve.WEB_FOLDER, name), "rb") as f:
            assert asset.content == f.read()
    for name in os.listdir(serve.WEB_FOLDER):  # no CDN, font, script or image from another host
        text = open(os.path.join(serve.WEB_FOLDER, name), encoding="utf-8").read()
        assert "http://" not in text and "https://" not in text and "@import" not in text, name
    assert client.get("/../pyproject.toml").status_code == 404
    assert client.get("/web/app.js").status_code == 404  # only the three fixed paths serve files


def test_presets_and_healthz(client):
    answer = client.get("/api/presets").json()
    assert [p["name"] for p in answer["presets"]] == ["lama_tiny", "migan_tiny"] and answer["default"] == "lama_tiny"
    assert all(p["pretrained"] and p["license"] and p["family"] for p in answer["presets"])
    assert answer["limits"] == {"max_upload_bytes": 2 * 2**20, "max_pixels": 1_000_000}
    assert client.get("/healthz").json() == {"status": "ok"}


# ---- POST /api/inpaint ---------------------------------------------------------------------

def test_inpaint_fills_the_hole_and_keeps_every_other_pixel(client, sample_photo):
    mask = box_mask(sample_photo.shape, 100, 150, 50, 90)
    answer = post(client, png(sample_photo), png(mask))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    result = decode(answer.content)
    assert result.shape == sample_photo.shape
    np.testing.assert_array_equal(result[mask == 0], sample_photo[mask == 0])
    assert np.abs(result[mask > 0].astype(int) - sample_photo[mask > 0]).mean() > 5


def test_options_and_presets_are_the_library_settings(client, pool, sample_photo):
    photo = sample_photo[:200, :280]
    mask = box_mask(photo.shape, 60, 80, 50, 70)
    for fields in ({}, {"preset": "migan_tiny"}, {"working_size": "0", "blend": "none"}, {"working_size": "128"}):
        answer = post(client, png(photo), png(mask), **fields)
        assert answer.status_code == 200, answer.text
        options = serve.inference_options(fields)
        expected = pool.inpaint(fields.get("preset"), photo, mask > 0, **options)
        np.testing.assert_array_equal(decode(answer.content), expected)


def test_exif_orientation_is_applied(client, sample_photo):
    photo = sample_photo[:120, :200]
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees: 120 wide, 200 high
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=95, exif=exif)
    shown = read_upload(buffer.getvalue(), "image")
    assert shown.shape == (200, 120, 3)
    answer = post(client, buffer.getvalue(), png(box_mask(shown.shape, 80, 30, 40, 50)))
    assert answer.status_code == 200 and decode(answer.content).shape == (200, 120, 3)
    stored_size_mask = post(client, buffer.getvalue(), png(box_mask(photo.shape, 10, 10, 20, 20)))
    assert stored_size_mask.status_code == 400 and "mask is 200x120 but the image is 120x200" in stored_size_mask.json()["error"]


def bad_requests(photo):
    mask = png(box_mask(photo.shape, 10, 10, 20, 20))
    bomb = np.zeros((1001, 1000), np.uint8)  # over the test server's 1,000,000 pixels; a 4 KB file
    return [
        ("not an image", (b"%PDF-1.4 not a photo", mask), {}, "image is not an image file"),
        ("truncated", (png(photo)[:300], mask), {}, "image could not be decoded"),
        ("size mismatch", (png(photo), png(np.zeros((10, 10), np.uint8))), {}, "mask is 10x10 but the image is"),
        ("decompression bomb", (png(bomb), png(bomb)), {}, "1,001,000 pixels, over this server's limit"),
        ("unknown preset", (png(photo), mask), {"preset": "lama_tinny"}, "unknown preset 'lama_tinny'"),
        ("a path as preset", (png(photo), mask), {"preset": "/etc"}, "this server offers lama_tiny, migan_tiny"),
        ("a handle as preset", (png(photo), mask), {"preset": "hf://someone/model"}, "unknown preset 'hf://"),
        ("a built-in preset not offered", (png(photo), mask), {"preset": "pconv_tiny"}, "unknown preset 'pconv_tiny'"),
        ("bad working size", (png(photo), mask), {"working_size": "-3"}, "working_size must be auto, 0"),
        ("bad blend", (png(photo), mask), {"blend": "average"}, "blend must be auto, poisson or none"),
        ("missing mask", (png(photo), None), {}, "missing file field(s) mask"),
    ]


@pytest.mark.parametrize("index", range(11), ids=[case[0] for case in bad_requests(np.zeros((4, 4, 3), np.uint8))])
def test_bad_input_is_400_with_one_json_error_naming_it(client, sample_photo, index):
    _, (image, mask), fields, fragment = bad_requests(sample_photo[:60, :80])[index]
    answer = post(client, image, mask, **fields)
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/json"
    assert list(answer.json()) == ["error"] and fragment in answer.json()["error"], answer.json()


def test_hd_strategy_is_passed_only_where_inpaint_takes_it(client, sample_photo):
    from keras_inpaint.models.inpainter import Inpainter

    assert serve_models.ACCEPTS_HD_STRATEGY == ("hd_strategy" in inspect.signature(Inpainter.inpaint).parameters)
    if not serve_models.ACCEPTS_HD_STRATEGY:
        photo = sample_photo[:60, :80]
        answer = post(client, png(photo), png(box_mask(photo.shape, 10, 10, 20, 20)), hd_strategy="crop")
        assert answer.status_code == 400 and "hd_strategy is not supported" in answer.json()["error"]


def test_upload_limit_is_413_declared_or_streamed(client):
    big = os.urandom(3 * 2**20)  # over the test server's 2 MB
    declared = client.post("/api/inpaint", files={"image": ("p.png", big), "mask": ("m.png", b"x")})
    assert declared.status_code == 413 and "upload limit of 2 MB" in declared.json()["error"]

    def chunks():  # no Content-Length: the limit holds while the body streams in
        yield b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.png\"\r\n\r\n"
        for start in range(0, len(big), 2**16):
            yield big[start:start + 2**16]

    streamed = client.post("/api/inpaint", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413 and "upload limit" in streamed.json()["error"]


def test_foreign_host_names_and_cross_site_posts_are_refused(client, sample_photo):
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400  # DNS rebinding
    assert client.get("/healthz", headers={"host": "localhost:8080"}).status_code == 200
    photo = png(sample_photo[:60, :80])
    mask = png(box_mask((60, 80), 10, 10, 20, 20))
    files = {"image": ("p.png", photo), "mask": ("m.png", mask)}
    foreign = client.post("/api/inpaint", files=files, headers={"origin": "http://attacker.example"})
    assert foreign.status_code == 403 and "cross-site" in foreign.json()["error"]
    own = client.post("/api/inpaint", files=files, headers={"origin": "http://127.0.0.1"})
    assert own.status_code == 200
    assert serve.allowed_hosts_for("0.0.0.0") == ("*",) and "::1" in serve.allowed_hosts_for("127.0.0.1")


def test_a_server_fault_is_500_without_a_traceback(client, pool, sample_photo, monkeypatch):
    def fails(*args, **kwargs):
        raise RuntimeError("internal detail /home/secret/path")

    monkeypatch.setattr(pool, "inpaint", fails)
    photo = sample_photo[:60, :80]
    answer = post(client, png(photo), png(box_mask(photo.shape, 10, 10, 20, 20)))
    assert answer.status_code == 500 and answer.json() == {"error": "the server failed on this request (see its log)."}


def test_each_preset_loads_once_when_many_requests_ask_at_once(sample_photo, monkeypatch):
    from keras_inpaint.models.inpainter import Inpainter

    loads = []
    real = Inpainter.from_preset.__func__

    def counted(cls, preset, **kwargs):
        loads.append(preset)
        time.sleep(0.2)  # widen the window a second load would slip through
        return real(cls, preset, **kwargs)

    monkeypatch.setattr(Inpainter, "from_preset", classmethod(counted))
    fresh = ModelPool(["lama_tiny"])
    photo = sample_photo[:60, :80]
    mask = box_mask(photo.shape, 10, 10, 20, 20) > 0
    with concurrent.futures.ThreadPoolExecutor(6) as threads:
        results = list(threads.map(lambda _: fresh.inpaint(None, photo, mask), range(6)))
    assert loads == ["lama_tiny"]
    assert all(np.array_equal(r, results[0]) for r in results)


def test_cli_defaults_are_the_library_signature():
    from keras_inpaint.cli import SERVE_DEFAULTS

    defaults = {k: p.default for k, p in inspect.signature(serve.serve).parameters.items() if k in SERVE_DEFAULTS}
    assert SERVE_DEFAULTS == defaults and SERVE_DEFAULTS["host"] == "127.0.0.1"  # loopback unless told otherwise
    app_defaults = inspect.signature(create_app).parameters
    assert app_defaults["max_upload_bytes"].default == SERVE_DEFAULTS["max_upload_mb"] * 2**20
    assert app_defaults["max_pixels"].default == SERVE_DEFAULTS["max_megapixels"] * 1e6
