"""Free loopback ports for the servers that tests and benchmarks start (standard library
only: MLflow's virtualenv and the benchmark import it too).

Ports are chosen below Linux's ephemeral range (32768-60999), from which bind(0) and outgoing
connections draw theirs: a port chosen here is not handed meanwhile to a client's connection
(the server's bind would then fail), and none is handed out twice by one process.
"""

from __future__ import annotations

import random
import socket

_PORTS = range(20_000, 32_000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, not handed out before by this process."""
    while True:
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


if __name__ == "__main__":  # `python ports.py N`: N distinct free ports, one per line
    import sys

    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        print(free_port())
