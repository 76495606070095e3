"""keras_inpaint.interrupts in-process: signals held during a commit, and a raise that Python
dropped (inside a ``__del__``) delivered again. The signals sent to real ``keras-inpaint``
processes are in tests/test_cli_hardening.py."""

import os
import signal
import time

import pytest

from keras_inpaint import interrupts


def test_deferred_holds_signals_until_the_block_ends():
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the runner ignores it
    previous_term = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts.deferred():
                signal.raise_signal(signal.SIGINT)
                done = True  # reached: the signal waited for the end of the block
        assert done
        with interrupts.handled(), pytest.raises(interrupts.Terminated):
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.01)
        assert signal.getsignal(signal.SIGTERM) is previous_term
    finally:
        signal.signal(signal.SIGINT, previous_int)


def test_an_interruption_dropped_by_a_del_method_is_raised_again_by_check():
    class RaisesInDel:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)  # the handler raises in here, and Python drops it

    with interrupts.handled():
        RaisesInDel()
        with pytest.raises(interrupts.Terminated):
            interrupts.check()
        interrupts.check()  # raised once only
    interrupts.check()  # nothing pending outside handled()
    assert interrupts.exit_code(interrupts.Terminated()) == 143 and interrupts.exit_code(KeyboardInterrupt()) == 130
