"""Ending the background threads a process starts for an app (its shutdown)."""
from __future__ import annotations

import logging
import threading


def join_quietly(thread: threading.Thread | None, timeout_s: float, what: str) -> bool:
    """Wait up to ``timeout_s`` for ``thread`` to end (not when it is the caller); whether it has.
    A thread still running afterwards is logged, not raised: shutting down goes on."""
    if thread is None or thread is threading.current_thread() or not thread.is_alive():
        return True
    thread.join(timeout_s)
    if thread.is_alive():
        logging.getLogger(__name__).warning("%s did not end within %.0f s", what, timeout_s)
        return False
    return True
