"""What the command line shows on the terminal: its own lines, progress bars, nothing else.

TensorFlow and CUDA write start-up lines straight to file descriptor 2 from C++ (``I0000 ...
cudart_stub``, ``E0000 ... cuInit``), before Python's logging exists and whatever
``TF_CPP_MIN_LOG_LEVEL`` says. :func:`quiet_native_logs` points descriptor 2 at ``/dev/null``
and gives Python's ``sys.stderr`` a private copy of the terminal, so the command's own messages,
warnings and progress bars still show while the native noise does not.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from typing import Iterable, Iterator, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
PROGRAM = "keras-inpaint"


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Silence descriptor 2 (native log lines) for the block; Python's stderr keeps the terminal.

    When ``sys.stderr`` is not descriptor 2 (a test's capture), it is left alone and only the
    descriptor is silenced. Both are restored on exit.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    try:
        uses_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        uses_fd2 = False
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    if uses_fd2:
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding,
                               errors="backslashreplace")
    for name in ("absl", "tensorflow", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        if sys.stderr is not python_stderr:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Within the block, Python warnings print as ``keras-inpaint: warning: <message>`` (no file
    and line). Only the format changes, so recording warnings (``catch_warnings``) still works."""
    original = warnings.formatwarning
    warnings.formatwarning = lambda message, category, filename, lineno, line=None: f"{PROGRAM}: warning: {message}\n"
    try:
        yield
    finally:
        warnings.formatwarning = original


def say(message: str) -> None:
    """A status line for the user (stdout), printed above any progress bar."""
    tqdm.write(message, file=sys.stdout)


def progress(items: Iterable[T], total: int | None = None, what: str = "", unit: str = "image") -> Iterable[T]:
    """``items`` with a progress bar on stderr when it is a terminal (none in logs and pipes)."""
    return tqdm(items, total=total, desc=what or None, unit=unit, file=sys.stderr, disable=None, leave=False,
                dynamic_ncols=True)
