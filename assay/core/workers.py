"""Worker processes that never outlive the process that started them (even when it is SIGKILLed)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

#: prctl(2) option: the signal a process receives when its parent dies
PR_SET_PDEATHSIG = 1
#: seconds between checks of the parent where prctl is not available
POLL_S = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker as soon as ``parent_pid`` (the process that made the pool) dies.

    Linux delivers SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); elsewhere a daemon
    thread checks the parent every :data:`POLL_S` seconds. A parent already gone ends the worker at once.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        threading.Thread(target=_watch, args=(parent_pid,), daemon=True, name="parent-watch").start()
    if os.getppid() != parent_pid:  # it died before the watch began
        os._exit(1)


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(1)
