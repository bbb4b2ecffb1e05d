"""One API process: uvicorn serving ``api.main:app`` on WEIQUAN_API_HOST:WEIQUAN_API_PORT.

The embedded launcher starts ``python -m api.serve`` once per API process
(``WEIQUAN_API_PROCESSES``). With more than one, each binds the port with SO_REUSEPORT and
the kernel spreads new connections over them. Each is then a process of its own, so the
launcher restarts a dead one on its own while the others keep serving. Uvicorn's
``--workers`` would put a supervisor of its own between them and the launcher: it has no
backoff and never gives up, and its children outlive a ``kill -9`` of it and keep the
port, so the launcher could not restart it.
"""

import logging
import socket

import uvicorn
from pydantic import ValidationError

from api import logs
from api.config import get_settings, refusal

log = logging.getLogger("weiquan.serve")

# uvicorn's own exit status when it cannot start (the port taken, the app broken).
STARTUP_FAILURE = 3


def listen(host: str, port: int, *, shared: bool) -> socket.socket:
    """A TCP socket bound to host:port; ``shared``: other processes may bind it too."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            # Linux lets only processes of the same user share a port this way.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def main() -> int:
    logs.configure("api")
    try:
        settings = get_settings()
    except ValidationError as error:
        log.error("the settings are refused: %s", refusal(error))
        return 1
    host, port = settings.api_host, settings.api_port
    try:
        sock = listen(host, port, shared=settings.api_processes > 1)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        log.error("cannot listen on %s:%d: %s", host, port, reason)
        return STARTUP_FAILURE
    log.info("listening on %s:%d", host, port)
    # log_config=None: the logging is ours (JSON lines), set up above and by api.main.
    config = uvicorn.Config("api.main:app", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    # Stopped before it served: its start-up failed (the database unreachable, …).
    return 0 if server.started else STARTUP_FAILURE


if __name__ == "__main__":
    logs.exit_now(main())
