"""Runs a command as a process group whose output goes to the server as frames."""

import os
import signal
import subprocess
import time

from channel import FRAME, Failure, control, send_json, system, wait
from process_group import group_alive, signal_group

KILL_WAIT = 5.0
PIPE_CLOSE_WAIT = 1.0

try:
    import ctypes

    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except Exception:
    _prctl = None


def child_setup():
    os.setpgid(0, 0)
    if _prctl is not None:
        try:
            # PR_SET_PDEATHSIG (1): the process dies with the supervisor.
            _prctl(1, int(signal.SIGKILL), 0, 0, 0)
        except Exception:
            pass


def run_group(argv, env, cwd, what, grace, out_kind, err_kind=None, tick=None):
    """Runs argv as the leader of a new process group, its output forwarded as frames.

    Returns (returncode, stopped) once the leader has exited and no live process is left in its
    group: on TERM the group gets SIGTERM, then SIGKILL after grace s; at the end of stdin,
    SIGKILL at once; processes left behind by a leader that exited are stopped like on TERM.
    """
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if err_kind else subprocess.STDOUT,
            preexec_fn=child_setup,
            close_fds=True,
        )
    except OSError as error:
        raise Failure(
            "spawn", "cannot start %s: %s" % (argv[0], error.strerror or error)
        )
    pgid = proc.pid
    send_json(FRAME["group"], {"what": what, "pid": proc.pid, "pgid": pgid})
    streams = {proc.stdout.fileno(): out_kind}
    if err_kind:
        streams[proc.stderr.fileno()] = err_kind
    status = None
    stopped = None
    term_at = None
    kill_at = None
    idle = 0.002
    while True:
        now = time.time()
        if control.eof and kill_at is None:
            signal_group(pgid, signal.SIGKILL)
            kill_at = now
            stopped = stopped or "lifeline"
        elif control.term and term_at is None and kill_at is None:
            system(
                "stopping process group %d (%s): SIGTERM"
                % (pgid, "asked by the server")
            )
            signal_group(pgid, signal.SIGTERM)
            term_at = now
            stopped = stopped or "term"
        if term_at is not None and kill_at is None and now - term_at >= grace:
            if group_alive(pgid):
                system(
                    "process group %d still alive after %g s: SIGKILL" % (pgid, grace)
                )
                signal_group(pgid, signal.SIGKILL)
            kill_at = now
        if status is None:
            status = proc.poll()
        if status is not None:
            if not group_alive(pgid):
                break
            if term_at is None and kill_at is None:
                system(
                    "process %d exited and left processes behind in its group: stopping them: SIGTERM"
                    % pgid
                )
                signal_group(pgid, signal.SIGTERM)
                term_at = now
            if kill_at is not None and now - kill_at > KILL_WAIT:
                system(
                    "process group %d still has processes %g s after SIGKILL (uninterruptible sleep?): giving up on it"
                    % (pgid, KILL_WAIT)
                )
                break
        if tick is not None:
            tick()
        if streams and status is None:
            wait(streams, 0.2)
        else:
            wait(streams, idle)
            idle = min(idle * 2, 0.05)
    deadline = time.time() + PIPE_CLOSE_WAIT
    while streams and time.time() < deadline:
        wait(streams, 0.05)
    if streams:
        system(
            "the output pipes stayed open after the program ended (a process left its group?): no longer reading them"
        )
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    if status is None:
        status = proc.poll()
    return status, stopped
