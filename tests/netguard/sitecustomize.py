"""Blocks and records every network attempt of a Python process (and of its children, which inherit
PYTHONPATH): an IP socket's connect, and a name lookup of anything but this machine. The test that
puts this folder on PYTHONPATH reads the record from $RAGFT_NETGUARD_LOG: empty means no network call
was attempted. Unix sockets (multiprocessing, munge) stay allowed."""

import os
import socket
import traceback

_LOG = os.environ.get("RAGFT_NETGUARD_LOG")
_LOCAL = {"", "localhost", "127.0.0.1", "::1", "0.0.0.0", socket.gethostname()}


def _record(what: str) -> None:
    stack = "".join(traceback.format_stack(limit=8)[:-2])
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(f"pid {os.getpid()}: {what}\n{stack}\n")


def _guard(real):
    def connect(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOCAL:
            _record(f"connect {address!r}")
            raise OSError(101, f"network blocked by the ragft offline test: connect {address!r}")
        return real(self, address, *args)

    return connect


def _lookup(real):
    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name not in _LOCAL:
            _record(f"getaddrinfo {name!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"name lookup blocked by the ragft offline test: {name!r}")
        return real(host, *args, **kwargs)

    return getaddrinfo


if _LOG:
    socket.socket.connect = _guard(socket.socket.connect)
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)
    socket.getaddrinfo = _lookup(socket.getaddrinfo)
