"""Ctrl-C and SIGTERM: stop long runs within seconds, never halfway through a commit.

Python turns SIGINT into ``KeyboardInterrupt`` but lets SIGTERM (``kill``, job schedulers,
``docker stop``) end the process on the spot, and an exception a signal handler raises while a
``__del__`` method or a garbage-collector callback runs is printed and dropped: the run goes on.
Within :class:`handled` (the command line's verbs run in it) both signals raise, SIGTERM as
:class:`Terminated`, so that ``finally`` blocks run and partial files are removed; a raise that
was dropped is raised again by the next :func:`check`, which the long loops call (every training
batch, every image). The command line reports one line and exits with :func:`exit_code`.

:class:`deferred` holds both signals for the few operations that must not be cut in two (the
renames that commit a checkpoint or a preset) and delivers them once the block is done.
"""

from __future__ import annotations

import signal
import sys
import threading


class Terminated(BaseException):
    """SIGTERM arrived within :class:`handled`.

    A ``BaseException`` like ``KeyboardInterrupt``: ``except Exception`` does not swallow it.
    """


#: What an interruption raises: catch these to clean up, then re-raise.
INTERRUPTIONS = (KeyboardInterrupt, Terminated)

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_pending: list[int] = []  # signals whose exception has not been seen to propagate


def exit_code(interruption: BaseException) -> int:
    """The shell's convention, 128 + the signal number: 143 for SIGTERM, 130 for SIGINT (Ctrl-C)."""
    return 128 + (signal.SIGTERM if isinstance(interruption, Terminated) else signal.SIGINT)


def _interruption(signum: int) -> BaseException:
    if signum == signal.SIGTERM:
        return Terminated(f"received {signal.Signals(signum).name}")
    return KeyboardInterrupt()


def _raise(signum, frame):
    _pending[:] = [signum]
    raise _interruption(signum)


def check() -> None:
    """Raise the interruption a signal asked for, if its first raise was dropped; else nothing.

    Cheap: call it in loops (per batch, per image). Outside :class:`handled` it never raises.
    """
    if _pending:
        signum = _pending.pop()
        raise _interruption(signum)


def _in_main_thread() -> bool:
    # Python runs signal handlers, and lets them be changed, in the main thread only.
    return threading.current_thread() is threading.main_thread()


class handled:
    """Within the block, SIGINT raises ``KeyboardInterrupt`` and SIGTERM :class:`Terminated`, in the
    main thread, and :func:`check` raises them again if a ``__del__`` method or a garbage-collector
    callback dropped them (silently: no "Exception ignored" report). The previous handlers are
    restored after it. A signal the process ignores stays ignored, and a SIGINT handler of the
    caller's own is left alone. Does nothing outside the main thread.
    """

    def __enter__(self):
        self._previous, self._previous_hook = {}, None
        if _in_main_thread():
            for signum in _SIGNALS:
                handler = signal.getsignal(signum)
                if handler is signal.SIG_IGN or handler is None or (
                        signum == signal.SIGINT and handler is not signal.default_int_handler):
                    continue
                self._previous[signum] = signal.signal(signum, _raise)
            self._previous_hook = sys.unraisablehook
            sys.unraisablehook = self._drop_interruptions
            _pending.clear()
        return self

    def _drop_interruptions(self, unraisable):
        # _pending still holds the signal: check() raises it where it can propagate.
        if not (isinstance(unraisable.exc_type, type) and issubclass(unraisable.exc_type, INTERRUPTIONS)):
            self._previous_hook(unraisable)

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self._previous_hook is not None:
            sys.unraisablehook = self._previous_hook
        _pending.clear()
        return False


class deferred:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them as they would have been.

    For short critical sections only (a few renames): the user's Ctrl-C waits for them. Signals
    the process ignores stay ignored; a SIGTERM with no handler still ends the process, after the
    block. Nests; does nothing outside the main thread.
    """

    def __enter__(self):
        self._previous, self._received = {}, []
        if _in_main_thread():
            for signum in _SIGNALS:
                handler = signal.getsignal(signum)
                if handler is signal.SIG_IGN or handler is None:  # ignored, or set outside Python
                    continue
                self._previous[signum] = signal.signal(signum, self._hold)
        return self

    def _hold(self, signum, frame):
        self._received.append(signum)

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(self._received):
            signal.raise_signal(signum)  # runs the restored handler: raises here, or ends the process
        return False
