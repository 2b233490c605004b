"""Validation of artifact paths given by clients (relative, "/"-separated)."""

from __future__ import annotations

import posixpath

from trackwire.errors import InvalidArgument

# What every artifact store takes: a file name of at most 255 bytes (Linux's file systems) in
# a path of at most 1,024 (an S3 key's limit), so a path is refused up front, never midway.
MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024


def clean_relative_path(path: str, *, allow_root: bool) -> str:
    """The normalised relative path, or InvalidArgument for anything that could escape or
    that a store could not hold.

    Refused: NUL bytes, backslashes, absolute paths, drive letters, any ".." segment, and
    names or paths longer than the limits above. "" (the root) is allowed only where a
    directory is meant.
    """
    if "\x00" in path:
        raise InvalidArgument("Invalid artifact path: it contains a NUL byte.")
    if "\\" in path:
        raise InvalidArgument(f"Invalid artifact path {path!r}: use '/' as the separator.")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidArgument(f"Invalid artifact path {path!r}: it must be relative.")
    segments = path.split("/")
    if ".." in segments:
        raise InvalidArgument(f"Invalid artifact path {path!r}: '..' segments are not allowed.")
    if len(path.encode()) > MAX_PATH_BYTES:
        raise InvalidArgument(
            f"Invalid artifact path {path[:64]!r}...: longer than {MAX_PATH_BYTES} bytes."
        )
    if any(len(segment.encode()) > MAX_SEGMENT_BYTES for segment in segments):
        raise InvalidArgument(
            f"Invalid artifact path {path[:64]!r}...: a name in it is longer than "
            f"{MAX_SEGMENT_BYTES} bytes."
        )
    cleaned = posixpath.normpath(path) if path else ""
    if cleaned in ("", "."):
        if not allow_root:
            raise InvalidArgument("Missing value for required parameter 'path'.")
        return ""
    return cleaned
