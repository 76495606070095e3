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
import signal
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

try:  # the browser test's driver (the [test] extra); that test alone skips without it
    from playwright import sync_api
except ImportError:
    sync_api = None

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
    assert stored_size_mask.status_code == 400
    assert "mask is 200x120 but the image is 120x200" in stored_size_mask.json()["error"]


def bad_requests(photo):
    mask = png(box_mask(photo.shape, 10, 10, 20, 20))
    bomb = np.zeros((1001, 1000), np.uint8)  # over the test server's 1,000,000 pixels; a 4 KB file
    return [
        ("not an image", (b"%PDF-1.4 not a photo", mask), {}, "cannot read image upload: not an image file"),
        ("truncated", (png(photo)[:300], mask), {}, "cannot read image upload: image file is truncated"),
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

    streamed = client.post("/api/inpaint", content=chunks(),
                           headers={"content-type": "multipart/form-data; boundary=b"})
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


# ---- a real server: the command line, uvicorn on a free loopback port ----------------------

def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """``keras-inpaint serve --port 0`` in a subprocess: (base URL, process)."""
    log = open(tmp_path_factory.mktemp("serve") / "stderr.log", "w+")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([sys.executable, "-m", "keras_inpaint.cli", "serve", "--port", "0"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=log, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    url = None
    deadline = time.monotonic() + 240
    while url is None and time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith("serving "):
            url = line.split(" on ", 1)[1].split()[0]
    if url is None:
        process.kill()
        log.seek(0)
        pytest.fail(f"the server did not start: {log.read()[-2000:]}")
    yield url, process
    process.send_signal(signal.SIGINT)  # Ctrl+C: uvicorn shuts down, then the command says so and exits 130
    assert process.wait(timeout=60) == 130
    log.seek(0)
    assert log.read().strip().splitlines()[-1:] == ["keras-inpaint: interrupted"]


def load_requests(photo, count: int):
    """``count`` different (image, mask) pairs: shifted photos, holes in different places."""
    pairs = []
    for i in range(count):
        image = np.roll(photo, 7 * i, axis=1)
        mask = box_mask(image.shape, 10 + 4 * i, 20 + 6 * i, 40, 60)
        pairs.append((image, mask, png(image), png(mask)))
    return pairs


def test_twenty_concurrent_requests_get_twenty_right_answers_and_memory_stays_steady(live_server, sample_photo):
    import httpx

    url, process = live_server
    pairs = load_requests(sample_photo[:160, :224], 20)

    def ask(pair):
        with httpx.Client(base_url=url, timeout=300) as http:
            answer = http.post("/api/inpaint", files={"image": ("p.png", pair[2]), "mask": ("m.png", pair[3])})
        assert answer.status_code == 200, answer.text
        return answer.content

    one_by_one = [ask(pair) for pair in pairs]  # the reference answers, and the warm-up
    rss = [rss_mb(process.pid)]
    seconds = []
    for _ in range(3):  # the first round also warms up the server's threads (their malloc arenas)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(pairs)) as threads:
            answers = list(threads.map(ask, pairs))
        seconds.append(time.perf_counter() - started)
        rss.append(rss_mb(process.pid))
        assert answers == one_by_one  # each request got its own answer, bit for bit
    for (image, mask, _, _), answer in zip(pairs, one_by_one):
        result = decode(answer)
        np.testing.assert_array_equal(result[mask == 0], image[mask == 0])
        assert np.abs(result[mask > 0].astype(int) - image[mask > 0]).mean() > 3
    print(f"\n3 x 20 concurrent requests: {', '.join(f'{s:.1f}' for s in seconds)} s; server RSS (MB) after 20 "
          f"sequential, then after each round: {', '.join(f'{r:.0f}' for r in rss)}")
    assert max(rss) - rss[0] < 150 and max(abs(r - rss[1]) for r in rss[2:]) < 50


# ---- the page in a real browser ------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def distance_to_segment(shape, start, end) -> np.ndarray:
    """Distance (pixels) from every pixel centre of an (H, W) image to the segment start-end (x, y)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    (x0, y0), (x1, y1) = start, end
    t = np.clip(((xs - x0) * (x1 - x0) + (ys - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2), 0, 1)
    return np.hypot(xs - (x0 + t * (x1 - x0)), ys - (y0 + t * (y1 - y0)))


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
@pytest.mark.skipif(sync_api is None, reason="no playwright (pip install playwright; it needs no browser download)")
def test_the_page_in_chromium_paints_inpaints_compares_and_downloads(live_server, sample_photo, tmp_path):
    url, _ = live_server
    photo_path = tmp_path / "photo.png"
    Image.fromarray(sample_photo).save(photo_path)
    height, width = sample_photo.shape[:2]
    requested, problems = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1000, "height": 720}, accept_downloads=True)
        page.on("request", lambda request: requested.append(request.url))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.goto(url)
        page.wait_for_selector("#preset option[value=lama_tiny]", state="attached")
        page.set_input_files("#file", str(photo_path))
        canvas = page.locator("#mask")
        canvas.wait_for(state="visible")
        box = canvas.bounding_box()
        scale = box["width"] / width  # screen pixels per image pixel
        brush_radius = float(page.input_value("#brush")) / scale / 2  # the slider is in screen pixels

        def stroke(start, end):  # real mouse events along a line, in image coordinates
            page.mouse.move(box["x"] + start[0] * scale, box["y"] + start[1] * scale)
            page.mouse.down()
            page.mouse.move(box["x"] + end[0] * scale, box["y"] + end[1] * scale, steps=20)
            page.mouse.up()

        def inpaint_and_download(name):
            page.click("#inpaint")
            page.locator("#status", has_text="Done in").wait_for(timeout=180_000)
            with page.expect_download() as download:
                page.click("#download")
            download.value.save_as(tmp_path / name)
            return np.asarray(Image.open(tmp_path / name).convert("RGB"))

        def compare(percent):  # move the before/after slider as a user would (an input event)
            page.evaluate("(v) => { const s = document.getElementById('compare'); s.value = v; "
                          "s.dispatchEvent(new Event('input')); }", percent)

        def shown_pixel(x, y):
            return page.evaluate("([x, y]) => Array.from(document.getElementById('photo').getContext('2d')"
                                 ".getImageData(x, y, 1, 1).data.slice(0, 3))", [x, y])

        first = ((140, 110), (300, 130))
        stroke(*first)
        page.click("#undo")
        assert page.is_disabled("#inpaint") and page.is_enabled("#redo")
        page.click("#redo")
        result = inpaint_and_download("first.png")
        band = distance_to_segment(sample_photo.shape, *first)
        assert result.shape == sample_photo.shape
        np.testing.assert_array_equal(result[band > brush_radius + 2], sample_photo[band > brush_radius + 2])
        inside = band < brush_radius - 2
        assert np.abs(result[inside].astype(int) - sample_photo[inside]).mean() > 5

        compare(50)  # the photo left of the middle, the result right of it
        assert shown_pixel(150, 111) == sample_photo[111, 150].tolist()
        assert shown_pixel(290, 129) == result[129, 290].tolist()
        page.screenshot(path=str(tmp_path / "page.png"))
        if os.environ.get("UPDATE_SCREENSHOT") == "1":
            os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
            page.screenshot(path=SCREENSHOT)
        compare(0)

        second = ((60, 230), (120, 200))  # keep editing: paint on the result, inpaint again on top
        stroke(*second)
        again = inpaint_and_download("second.png")
        band2 = distance_to_segment(sample_photo.shape, *second)
        np.testing.assert_array_equal(again[band2 > brush_radius + 2], result[band2 > brush_radius + 2])
        assert np.abs(again[band2 < brush_radius - 2].astype(int) - result[band2 < brush_radius - 2]).mean() > 5
        page.click("#undo")  # back to the first result, then forward to the second
        assert shown_pixel(90, 215) == result[215, 90].tolist()
        page.click("#redo")
        assert shown_pixel(90, 215) == again[215, 90].tolist()
        browser.close()
    assert not problems, problems
    assert all(u.startswith((url, "blob:", "data:")) for u in requested), requested  # nothing from elsewhere
