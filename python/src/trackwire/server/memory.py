"""The server's memory goes back to the system once a large request is done with.

glibc's malloc serves a block from its heaps, rather than from a mapping of its own, once a
block that large has been freed (its mmap threshold rises to the largest freed block, up to
32 MiB), and memory freed inside a heap mostly stays with the process. So a few 15 MB
requests (gRPC's receive buffers, the decoded message, its strings) left the server some
hundred MB larger for good. A fixed threshold keeps every block from 64 KiB up in a mapping
that is unmapped when freed; smaller blocks, the bulk of a request's work, are unaffected.
(128 KiB let gRPC's receive buffers pin memory again.) The hot path must then avoid SQLite
statements that allocate such blocks per call: UPDATE ... RETURNING does (store/quotas.py).
"""

from __future__ import annotations

import ctypes

# mallopt's parameter number for the mmap threshold (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
LARGE_BLOCK_BYTES = 64 * 1024


def return_large_blocks_to_the_system() -> None:
    """Fixes malloc's mmap threshold where the C library has glibc's mallopt; elsewhere
    (macOS, Windows) the allocator is left as it is."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):
        return
    mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)
