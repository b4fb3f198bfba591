"""What the tests of python/ share: the folder, the protocol, and a supervisor run as a process."""

import json
import os
import select
import struct
import subprocess
import sys
import time

PYTHON_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"
)
with open(os.path.join(PYTHON_DIR, "protocol.json")) as protocol_file:
    PROTOCOL = json.load(protocol_file)
FRAME = PROTOCOL["frames"]
COMMAND = PROTOCOL["commands"]


def wait_until(condition, timeout=10.0):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("not within %g s" % timeout)
        time.sleep(0.02)


class SupervisorProcess(object):
    """supervisor.py run as a process with the protocol as argv[1], as the server starts it."""

    def __init__(self, cwd):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-u",
                os.path.join(PYTHON_DIR, "supervisor.py"),
                json.dumps(PROTOCOL),
            ],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.buffer = b""

    def send(self, command, argument):
        self.process.stdin.write(
            ("%s %s\n" % (COMMAND[command], argument)).encode("utf-8")
        )
        self.process.stdin.flush()

    def send_line(self, line):
        self.process.stdin.write(line)
        self.process.stdin.flush()

    def close_input(self):
        self.process.stdin.close()

    def next_frame(self, timeout=30.0):
        """The next (kind, payload) frame."""
        deadline = time.time() + timeout
        while True:
            if len(self.buffer) >= 5:
                (length,) = struct.unpack(">I", self.buffer[1:5])
                if len(self.buffer) >= 5 + length:
                    kind = self.buffer[0:1].decode("ascii")
                    payload = self.buffer[5 : 5 + length]
                    self.buffer = self.buffer[5 + length :]
                    return kind, payload
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no frame within %g s" % timeout)
            ready = select.select([self.process.stdout], [], [], left)[0]
            if ready:
                data = os.read(self.process.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError(
                        "the supervisor ended: %s" % self.process.stderr.read()
                    )
                self.buffer += data

    def frames_until(self, kind, timeout=30.0):
        """The frames up to and including the first of `kind`."""
        frames = []
        while not frames or frames[-1][0] != kind:
            frames.append(self.next_frame(timeout))
        return frames

    def finish(self):
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        code = self.process.wait(10)
        self.process.stdout.close()
        self.process.stderr.close()
        return code
