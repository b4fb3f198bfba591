"""The supervisor's channel to the server.

Frames out on stdout (a kind byte, a 4-byte big-endian length, the payload), commands in on stdin
(one per line), and what ends a run early. The kinds and commands come from protocol.json, which
the server shares with its TypeScript side: see configure().
"""

import errno
import json
import os
import select
import struct
import time


def configure(protocol):
    """Takes the frame kinds and commands from protocol.json's content."""
    FRAME.update(
        (name, kind.encode("ascii")) for name, kind in protocol["frames"].items()
    )
    COMMAND.update(
        (name, word.encode("ascii") + b" ")
        for name, word in protocol["commands"].items()
    )


class Failure(Exception):
    """The run cannot go on; kind: "build" (pip failed), "spawn", "unavailable", "internal"."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind


class Stopped(Exception):
    """The server asked to stop (TERM) or went away (end of stdin)."""


# The frame kinds (bytes) and commands (bytes, with the space after them) by name: see configure().
FRAME = {}
COMMAND = {}
_out = {"ok": True}


def frame(kind, payload=b""):
    if not isinstance(payload, bytes):
        payload = payload.encode("utf-8", "replace")
    if not _out["ok"]:
        return
    data = memoryview(kind + struct.pack(">I", len(payload)) + payload)
    try:
        while data:
            data = data[os.write(1, data) :]
    except OSError:
        _out["ok"] = (
            False  # the server is gone: keep stopping and cleaning up regardless
        )


def system(line):
    frame(FRAME["system"], line)


def send_json(kind, value):
    frame(kind, json.dumps(value))


class Control(object):
    """The server's side: commands on stdin, one per line; end of file is the lifeline."""

    def __init__(self):
        self.buffer = b""
        self.eof = False
        self.stopped_runs = set()
        self.current = None
        self.quit = False
        self.commands = []

    def read(self):
        try:
            data = os.read(0, 65536)
        except OSError as error:
            if error.errno in (errno.EINTR, errno.EAGAIN):
                return
            data = b""
        if not data:
            self.eof = True
            return
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            line = line.strip()
            if line.startswith(COMMAND["term"]):
                self.stopped_runs.add(
                    line[len(COMMAND["term"]) :].decode("utf-8", "replace")
                )
            elif line:
                self.commands.append(line)

    @property
    def term(self):
        return self.quit or self.current in self.stopped_runs

    def stopping(self):
        return self.eof or self.term

    def reason(self):
        return "lifeline" if self.eof else "term"


control = Control()


def wait(streams, timeout):
    """Waits up to timeout s for stdin or a stream (fd -> frame kind); forwards what arrives."""
    fds = list(streams)
    if not control.eof:
        fds.append(0)
    if not fds:
        time.sleep(timeout)
        return
    try:
        ready = select.select(fds, [], [], timeout)[0]
    except (OSError, select.error) as error:
        if getattr(error, "errno", None) == errno.EINTR or (
            error.args and error.args[0] == errno.EINTR
        ):
            return
        raise
    for fd in ready:
        if fd == 0:
            control.read()
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            frame(streams[fd], data)
        else:
            del streams[fd]
