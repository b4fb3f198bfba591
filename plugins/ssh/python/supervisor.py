"""The supervisor of Tensorify's ssh executor on a host.

The server sends this code over an SSH channel to the host's configured Python (it is never a file
on the host), after the modules it imports (see bundle.py), with protocol.json (the frame kinds and
commands) as argv[1]; then a line "RUN <json>" per run, naming the run directory it uploaded by
SFTP. Its stdout carries frames to the server: a kind byte, a 4-byte big-endian length, the
payload. Its stdin is the server's: a line "TERM <dir>" stops that run (SIGTERM to the program's
process group, SIGKILL after the grace period); end of file, which comes when the server or the
connection is gone, SIGKILLs the group at once. Whatever ends a run, its group is gone and its
directory removed before the end frame. After a run that ended on its own it waits for the next
one; after any other it exits. Python 3.6 or newer, standard library only. The protocol is
described in src/supervisor.ts.
"""

import errno
import json
import os
import shutil
import signal
import sys

from channel import (
    COMMAND,
    FRAME,
    Failure,
    Stopped,
    configure,
    control,
    frame,
    send_json,
    system,
    wait,
)
from group_runner import run_group
from venvs import LAST_USED, SAFE_PATH, ensure_venv, heartbeat

OUTPUT_FILE = ".tensorify-output.json"


def program_environment(spec, work_dir, bin_dir):
    env = {
        "PATH": (
            bin_dir + ":" + SAFE_PATH
            if bin_dir not in SAFE_PATH.split(":")
            else SAFE_PATH
        ),
        "HOME": work_dir,
    }
    env.update(spec["env"])
    env.update(spec["configEnv"])
    for name in spec["passEnv"]:
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(spec["jobEnv"])
    env["TENSORIFY_OUTPUT"] = os.path.join(work_dir, OUTPUT_FILE)
    return env


def run(spec):
    control.current = spec["dir"]
    # Relative paths (the default workDir) are relative to the login directory, wherever the last run left us.
    os.chdir(START_DIR)
    spec = dict(spec, venvDir=os.path.abspath(spec["venvDir"]))
    result = {
        "exitCode": None,
        "signal": None,
        "stopped": None,
        "started": False,
        "removed": False,
    }
    work_dir = None
    try:
        os.chdir(spec["dir"])
        work_dir = os.getcwd()
        executable = sys.executable
        tick = None
        if spec["requirements"]:
            venv = ensure_venv(spec)
            executable = os.path.join(venv, "bin", "python")
            tick = heartbeat(os.path.join(venv, LAST_USED))  # in use while it runs
        if control.stopping():
            raise Stopped()
        env = program_environment(spec, work_dir, os.path.dirname(executable))
        result["started"] = True
        status, stopped = run_group(
            [executable] + spec["args"],
            env,
            work_dir,
            "program",
            spec["graceSeconds"],
            FRAME["stdout"],
            FRAME["stderr"],
            tick,
        )
        result["stopped"] = stopped
        if status is not None and status < 0:
            result["signal"] = -status
        else:
            result["exitCode"] = status
        try:
            with open(os.path.join(work_dir, OUTPUT_FILE), "rb") as output_file:
                frame(FRAME["output"], output_file.read())
        except (IOError, OSError) as error:
            if error.errno != errno.ENOENT:
                system("the output file (TENSORIFY_OUTPUT) cannot be read: %s" % error)
    except Stopped:
        result["stopped"] = control.reason()
    except Failure as failure:
        result["failure"] = {"kind": failure.kind, "message": str(failure)}
    except Exception as error:
        result["failure"] = {
            "kind": "internal",
            "message": "%s: %s" % (type(error).__name__, error),
        }
    finally:
        os.chdir(START_DIR)
        if work_dir is not None and not spec["keepWorkDir"]:
            shutil.rmtree(work_dir, True)
            result["removed"] = not os.path.exists(work_dir)
    send_json(FRAME["end"], result)
    control.stopped_runs.discard(spec["dir"])
    control.current = None
    return result


START_DIR = os.getcwd()


def main(protocol):
    """Runs the supervisor; protocol: protocol.json's content."""
    configure(protocol)
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    # SIGTERM (an operator, a shutdown): stop the run like TERM, then exit.
    signal.signal(signal.SIGTERM, lambda number, frame_: setattr(control, "quit", True))
    info = {
        "pid": os.getpid(),
        "python": sys.executable,
        "version": "%d.%d.%d" % tuple(sys.version_info[:3]),
    }
    send_json(FRAME["hello"], info)
    while True:
        while not control.commands:
            if control.eof or control.quit:
                return
            wait({}, 1.0)
        line = control.commands.pop(0)
        if not line.startswith(COMMAND["run"]):
            send_json(
                FRAME["end"],
                {
                    "failure": {
                        "kind": "internal",
                        "message": "unexpected command %r" % line[:40],
                    }
                },
            )
            return
        result = run(json.loads(line[len(COMMAND["run"]) :].decode("utf-8")))
        if result["stopped"] or result.get("failure") or control.eof or control.quit:
            return


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
