"""Artifacts on the local filesystem, streamed in chunks both ways."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from trackwire.errors import InvalidArgument, NotFound
from trackwire.v1 import entities_pb2 as pb


class LocalArtifactRepository:
    """The artifacts below one root directory (a run's artifact root)."""

    def __init__(self, root: Path):
        self.root = root

    def _resolve(self, relative: str) -> Path:
        """The real path of `relative` (already cleaned), which must stay under the root."""
        root = self.root.resolve()
        target = (root / relative).resolve() if relative else root
        if target != root and root not in target.parents:
            raise InvalidArgument(f"Invalid artifact path {relative!r}: it leaves the run's root.")
        return target

    def list(self, relative: str) -> list[pb.FileInfo]:
        directory = self._resolve(relative)
        if not directory.is_dir():
            return []
        infos = []
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            path = f"{relative}/{entry.name}" if relative else entry.name
            if entry.is_dir():
                infos.append(pb.FileInfo(path=path, is_dir=True))
            else:
                infos.append(pb.FileInfo(path=path, is_dir=False, file_size=entry.stat().st_size))
        return infos

    def write(self, relative: str, chunks: Iterable[bytes]) -> pb.FileInfo:
        """Streams chunks into a temporary file beside the target, then renames it in place."""
        target = self._resolve(relative)
        if target.is_dir():
            raise InvalidArgument(f"Cannot upload to {relative!r}: it is a directory.")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Resolve again: the directories just created must not lead out of the root.
        target = self._resolve(relative)
        size = 0
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
        return pb.FileInfo(path=relative, is_dir=False, file_size=size)

    def read(self, relative: str, chunk_size: int) -> Iterator[bytes]:
        source = self._resolve(relative)
        if not source.is_file():
            raise NotFound(f"No artifact at path {relative!r}.")
        handle = source.open("rb")

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(chunk_size):
                    yield chunk

        return chunks()

    def delete(self, relative: str) -> None:
        target = self._resolve(relative)
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            raise NotFound(f"No artifact at path {relative!r}.")
