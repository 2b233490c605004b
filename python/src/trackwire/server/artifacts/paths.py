"""Validation of artifact paths given by clients (relative, "/"-separated)."""

from __future__ import annotations

import posixpath

from trackwire.errors import InvalidArgument


def clean_relative_path(path: str, *, allow_root: bool) -> str:
    """The normalised relative path, or InvalidArgument for anything that could escape.

    Refused: NUL bytes, backslashes, absolute paths, drive letters and any ".."
    segment. "" (the root) is allowed only where a directory is meant.
    """
    if "\x00" in path:
        raise InvalidArgument("Invalid artifact path: it contains a NUL byte.")
    if "\\" in path:
        raise InvalidArgument(f"Invalid artifact path {path!r}: use '/' as the separator.")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidArgument(f"Invalid artifact path {path!r}: it must be relative.")
    if ".." in path.split("/"):
        raise InvalidArgument(f"Invalid artifact path {path!r}: '..' segments are not allowed.")
    cleaned = posixpath.normpath(path) if path else ""
    if cleaned in ("", "."):
        if not allow_root:
            raise InvalidArgument("Missing value for required parameter 'path'.")
        return ""
    return cleaned
