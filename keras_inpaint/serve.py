"""``keras-inpaint serve``: a web page to paint over what to remove, and the HTTP API behind it.

Endpoints (:func:`create_app`):

* ``GET /`` (and ``/app.js``, ``/style.css``): the page, plain HTML/CSS/JS shipped in the
  package (``keras_inpaint/web/``); it fetches nothing from elsewhere.
* ``GET /api/presets``: ``{"presets": [{name, family, license, description, pretrained,
  loaded}], "default": name, "limits": {"max_upload_bytes", "max_pixels"}}``.
* ``POST /api/inpaint``: multipart ``image`` (a photo file), ``mask`` (same size, white =
  hole), optional ``preset`` (a name from ``/api/presets``), ``working_size`` (``auto``, ``0``
  = full size, or pixels) and ``blend`` (``auto``, ``poisson``, ``none``); answers ``image/png``
  (RGB, 8 bits, the photo's size; pixels outside the hole unchanged).
* ``GET /healthz``: ``{"status": "ok"}``.

Errors are JSON ``{"error": "..."}``: 400 for bad input (not an image, sizes differ, too many
pixels, unknown preset or option, a missing field, a Host header naming another server), 413
for a request body over the upload limit, 403 for a cross-site POST, 500 for a fault of the
server (its log has the traceback; the body does not).

Built on Starlette (ASGI) and served by uvicorn; README's "From a browser" says why.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from typing import Callable, Sequence
from urllib.parse import urlsplit

import python_multipart  # noqa: F401  (Starlette parses multipart uploads with it: fail at import, not per request)
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keras_inpaint.errors import InpaintInputError
from keras_inpaint.serve_models import ACCEPTS_HD_STRATEGY, ModelPool
from keras_inpaint.serve_uploads import DEFAULT_MAX_PIXELS, encode_png, read_upload

WEB_FOLDER = os.path.join(os.path.dirname(__file__), "web")
# The page's files: fixed names read at start, so no request ever chooses a file.
PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
              "/app.js": ("app.js", "text/javascript; charset=utf-8"),
              "/style.css": ("style.css", "text/css; charset=utf-8")}
# Everything the page loads comes from this server; blob: URLs hold the photo and the result.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Requests holding decoded pixels at once: one on the model, one decoding or encoding beside it.
# The others wait with their upload's bytes only, so memory stays bounded under many requests.
PIXEL_SLOTS = 2


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def inference_options(fields: dict[str, str]) -> dict:
    """``Inpainter.inpaint`` keyword arguments from a request's text fields; absent or ``auto``:
    left out (the preset's setting). Raises InpaintInputError naming a bad value."""
    options: dict = {}
    working_size = fields.get("working_size", "auto").strip()
    if working_size != "auto":
        if not working_size.isdigit():
            raise InpaintInputError(f"working_size must be auto, 0 (full size) or a number of pixels; "
                                    f"got {working_size!r}.")
        options["working_size"] = int(working_size) or None
    blend = fields.get("blend", "auto").strip()
    if blend != "auto":
        if blend not in ("poisson", "none"):
            raise InpaintInputError(f"blend must be auto, poisson or none; got {blend!r}.")
        options["blend"] = None if blend == "none" else blend
    hd_strategy = fields.get("hd_strategy", "").strip()
    if hd_strategy:  # see serve_models.ACCEPTS_HD_STRATEGY
        if not ACCEPTS_HD_STRATEGY:
            raise InpaintInputError("hd_strategy is not supported by this server's keras_inpaint.")
        options["hd_strategy"] = hd_strategy
    return options


class _TooLarge(Exception):
    """The request body passed the upload limit while it was being read."""


def _host_name(host_header: str) -> str:
    """``example.org:8080`` -> ``example.org``; ``[::1]:8080`` -> ``::1``."""
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class _Guard:
    """Checks made before a request reaches the routes, each answered in JSON:

    * the Host header must be one this server answers to (a page on another site that renames
      itself to 127.0.0.1 through DNS, "DNS rebinding", is refused): 400;
    * a POST sent by a page from another origin (its Origin header is not this server): 403;
    * a body over ``max_bytes``: 413 at once when Content-Length says so, else as soon as the
      bytes received pass it (a chunked upload), before the rest is read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, allowed_hosts: Sequence[str]):
        self.app, self.max_bytes = app, max_bytes
        self.allowed_hosts = None if "*" in allowed_hosts else {h.lower() for h in allowed_hosts}

    def refusal(self, scope: Scope) -> JSONResponse | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _host_name(host).lower() not in self.allowed_hosts:
            return _error(400, f"this server does not answer to the host name {_host_name(host)!r}.")
        origin = headers.get("origin")
        if scope["method"] == "POST" and origin is not None and urlsplit(origin).netloc != host:
            return _error(403, "cross-site request refused: this server answers its own page only.")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return self.too_large()
        return None

    def too_large(self) -> JSONResponse:
        return _error(413, f"the request is over this server's upload limit of {self.max_bytes / 2**20:g} MB.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        received, started = 0, False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _TooLarge:
            if started:
                raise
            await self.too_large()(scope, receive, send)


def create_app(pool: ModelPool, max_upload_bytes: int = 25 * 2**20, max_pixels: int = DEFAULT_MAX_PIXELS,
               allowed_hosts: Sequence[str] = LOOPBACK_HOSTS) -> Starlette:
    """The ASGI application (run it with uvicorn, or test it with Starlette's TestClient).

    Args:
        pool: the presets offered (:class:`ModelPool`).
        max_upload_bytes: largest request body; more answers 413 before it is read.
        max_pixels: largest image (width x height); more answers 400 before decoding.
            (These defaults are :func:`serve`'s 25 MB and 40 megapixels.)
        allowed_hosts: Host header values answered (DNS-rebinding guard); ``("*",)``: any.
    """
    pages = {}
    for path, (name, media_type) in PAGE_FILES.items():
        with open(os.path.join(WEB_FOLDER, name), "rb") as f:
            pages[path] = Response(f.read(), media_type=media_type, headers=PAGE_HEADERS)

    async def page(request: Request) -> Response:
        return pages[request.url.path]

    async def presets(request: Request) -> JSONResponse:
        return JSONResponse({"presets": pool.describe(), "default": pool.default,
                             "limits": {"max_upload_bytes": max_upload_bytes, "max_pixels": max_pixels}})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    pixel_slots = threading.BoundedSemaphore(PIXEL_SLOTS)

    def run_model(image_bytes: bytes, mask_bytes: bytes, preset: str | None, options: dict) -> bytes:
        with pixel_slots:
            image = read_upload(image_bytes, "image", max_pixels)
            mask = read_upload(mask_bytes, "mask", max_pixels)
            if mask.shape != image.shape[:2]:
                raise InpaintInputError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                                        f"{image.shape[1]}x{image.shape[0]}; they must be the same size.")
            return encode_png(pool.inpaint(preset, image, mask, **options))

    async def inpaint(request: Request) -> Response:
        async with request.form(max_files=2, max_fields=8) as form:
            files = {key: value for key, value in form.items() if isinstance(value, UploadFile)}
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            missing = [key for key in ("image", "mask") if key not in files]
            if missing:
                return _error(400, f"missing file field(s) {', '.join(missing)}: send multipart/form-data with "
                                   "'image' (a photo) and 'mask' (same size, white = hole).")
            image_bytes, mask_bytes = await files["image"].read(), await files["mask"].read()
        try:
            preset = pool.check(fields.get("preset"))
            options = inference_options(fields)
            png = await run_in_threadpool(run_model, image_bytes, mask_bytes, preset, options)
        except InpaintInputError as e:
            return _error(400, str(e))
        return Response(png, media_type="image/png")

    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail))  # 404, 405, a malformed multipart body (400)

    async def server_fault(request: Request, error: Exception) -> JSONResponse:
        # The traceback goes to the server's log (uvicorn prints it), never to the client.
        return _error(500, "the server failed on this request (see its log).")

    routes = [Route(path, page) for path in PAGE_FILES]
    routes += [Route("/api/presets", presets), Route("/healthz", healthz),
               Route("/api/inpaint", inpaint, methods=["POST"])]
    guard = Middleware(_Guard, max_bytes=max_upload_bytes, allowed_hosts=allowed_hosts)
    return Starlette(routes=routes, middleware=[guard],
                     exception_handlers={HTTPException: http_error, Exception: server_fault})


def allowed_hosts_for(host: str) -> tuple[str, ...]:
    """Host headers to answer when listening on ``host``: loopback names (and ``host``), or any
    for a wildcard address (0.0.0.0, ::), where the operator chose to be reachable."""
    if host in ("0.0.0.0", "::", ""):
        return ("*",)
    return tuple(dict.fromkeys([*LOOPBACK_HOSTS, host.strip("[]")]))


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one); OSError if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(presets: Sequence[str], host: str = "127.0.0.1", port: int = 8080, max_upload_mb: float = 25.0,
          max_megapixels: float = 40.0, announce: Callable[[str], None] = print, log_level: str = "info") -> None:
    """Resolve ``presets``, load the first, listen on ``host:port`` (0: a free port) and serve
    until interrupted (Ctrl+C). The defaults are the command line's (read from this signature).

    Raises PresetError (an unknown preset) or OSError (the address cannot be used) before
    serving anything.
    """
    pool = ModelPool(presets)
    sock = bind(host, port)
    try:
        announce(f"loading {pool.default}")
        pool.load()
        app = create_app(pool, max_upload_bytes=int(max_upload_mb * 2**20), max_pixels=int(max_megapixels * 1e6),
                         allowed_hosts=allowed_hosts_for(host))
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        announce(f"serving {', '.join(pool.names)} on http://{shown}:{bound_port}/ (Ctrl+C stops)")
        sys.stdout.flush()  # the address reaches a pipe or a log at once
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5))
        server.run(sockets=[sock])
    finally:
        sock.close()
