"""Watching a run while it trains: the live panel's hook in d2lmini.train.

`with watch(callback):` makes every train() in this thread call callback(history) as the run
grows (see `d2lmini.training.progress_hooks` for when). An exception the callback raises stops
the run and comes out of train(): that is how a panel stops a run whose settings were replaced.
Watches nest (every active callback is called, the outermost first) and belong to their thread,
so a panel training in its own thread never sees a run of the notebook's main thread.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..training import History, progress_hooks

_local = threading.local()


@contextmanager
def watch(callback: Callable[[History], None]) -> Iterator[Callable[[History], None]]:
    """While active in this thread, every train() calls callback(history) as the run grows."""
    stack = _local.__dict__.setdefault("callbacks", [])
    stack.append(callback)
    try:
        yield callback
    finally:
        del stack[len(stack) - 1 - stack[::-1].index(callback)]


def _call_watchers(history: History) -> None:
    """The hook: call this thread's watchers, the outermost first."""
    for callback in tuple(getattr(_local, "callbacks", ())):
        callback(history)


progress_hooks.append(_call_watchers)
