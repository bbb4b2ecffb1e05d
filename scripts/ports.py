"""Free ports that stay free across a stop and a restart of the embedded stack.

A port the kernel hands out for ``bind(0)`` lies in the ephemeral range, which outgoing
connections also draw their local ports from: between a stop and a restart one of them
can take it, and the dev server then fails to bind. Ports below that range do not move.
"""

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def stable_free_port(host: str = "127.0.0.1") -> int:
    """A port free now on ``host``, below the ephemeral range."""
    try:
        low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    ports = random.Random()
    for _ in range(500):
        port = ports.randrange(20000, max(low, 20001))
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {host} between 20000 and {low}")
