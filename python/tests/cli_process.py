"""Runs the `trackwire` command line as a user does: a separate process, its exit code, and
what it printed on standard output and standard error."""

from __future__ import annotations

import os
import subprocess
import sys

# Variables of the environment the tests run in that would steer the commands.
_STEERING = (
    "TRACKWIRE_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "TRACKWIRE_TOKEN",
    "MLFLOW_TRACKING_TOKEN",
)


def trackwire(
    *args: str, env: dict[str, str] | None = None, cwd=None, timeout: float = 120
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in _STEERING}
    return subprocess.run(
        [sys.executable, "-m", "trackwire", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


def ok(*args: str, **kwargs) -> str:
    """Runs a command that must succeed; its standard output."""
    result = trackwire(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    return result.stdout


def failed_with_one_line(result: subprocess.CompletedProcess, code: int = 1) -> str:
    """Asserts a command failed with `code` and one line on standard error; that line."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
