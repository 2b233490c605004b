"""What every autologging integration shares: the run a training call logs to, and patching
a library's training function so that each call logs."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from trackwire import fluent

_state = threading.local()


@contextmanager
def training_run(run_name: str | None = None) -> Iterator[bool]:
    """Logs a training call: to the active run, or to a run of its own (named `run_name`),
    ended when the call returns (FAILED when it raises). Yields False inside another logged
    training call (a pipeline's steps, a wrapper calling the library's own train function),
    which then logs nothing of its own."""
    if getattr(_state, "training", False):
        yield False
        return
    _state.training = True
    own_run = fluent.active_run() is None
    try:
        if own_run:
            fluent.start_run(run_name=run_name)
        yield True
    except BaseException:
        if own_run:
            fluent.end_run("FAILED")
        raise
    finally:
        _state.training = False
    if own_run:
        fluent.end_run()


class Patches:
    """A library's patched training functions, to undo on `autolog(disable=True)`."""

    def __init__(self) -> None:
        self._originals: dict[tuple[Any, str], Any] = {}

    def patch(self, owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
        if (owner, name) not in self._originals:
            original = getattr(owner, name)
            self._originals[(owner, name)] = original
            setattr(owner, name, functools.wraps(original)(wrap(original)))

    def undo(self) -> None:
        for (owner, name), original in self._originals.items():
            setattr(owner, name, original)
        self._originals.clear()


def with_callback(kwargs: dict[str, Any], callback: Any) -> dict[str, Any]:
    """The call's keyword arguments with `callback` added to its `callbacks`."""
    return {**kwargs, "callbacks": [*(kwargs.get("callbacks") or ()), callback]}


def string_params(params: dict[str, Any]) -> dict[str, str]:
    """Params as logged: strings, cut to MLflow's value limit."""
    return {str(k): str(v)[:6000] for k, v in params.items()}


def valid_key(key: Any) -> str:
    """A framework's metric or param name as a valid key: characters MLflow refuses in keys
    (parentheses, commas, ...) become "_", so an odd name cannot stop training."""
    return re.sub(r"[^\w\-. :/]", "_", str(key))
