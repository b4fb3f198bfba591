/**
 * The Python sent to the hosts (never stored there as files): the supervisor of the runs, the
 * bootstrap that loads it, and the check confirming a stopped run is gone. Python 3.6 or newer,
 * standard library only. The protocol is described in supervisor.ts.
 */

/** The supervisor (its comment describes what it does). */
export const SUPERVISOR_SOURCE = String.raw`# The supervisor of Tensorify's ssh executor on a host. The server sends this code over an SSH
# channel to the host's configured Python (it is never a file on the host), then a line
# "RUN <json>" per run, naming the run directory it uploaded by SFTP. Its stdout carries frames to
# the server: a kind byte, a 4-byte big-endian length, the payload. Its stdin is the server's:
# a line "TERM <dir>" stops that run (SIGTERM to the program's process group, SIGKILL after the
# grace period); end of file, which comes when the server or the connection is gone, SIGKILLs the
# group at once. Whatever ends a run, its group is gone and its directory removed before the end
# frame. After a run that ended on its own it waits for the next one; after any other it exits.
import errno
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
PIP_VARIABLE = re.compile(
    r"^(PIP_.+|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|all_proxy|ALL_PROXY"
    r"|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE)$"
)
OUTPUT_FILE = ".tensorify-output.json"
KILL_WAIT = 5.0
PIPE_CLOSE_WAIT = 1.0
LOCK_HEARTBEAT = 5.0
LOCK_STALE = 30.0

try:
    import ctypes

    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except Exception:
    _prctl = None


class Failure(Exception):
    """The run cannot go on; kind: "build" (pip failed), "spawn", "unavailable", "internal"."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind


class Stopped(Exception):
    """The server asked to stop (TERM) or went away (end of stdin)."""


_out = {"ok": True}


def frame(kind, payload=b""):
    if not isinstance(payload, bytes):
        payload = payload.encode("utf-8", "replace")
    if not _out["ok"]:
        return
    data = memoryview(kind + struct.pack(">I", len(payload)) + payload)
    try:
        while data:
            data = data[os.write(1, data):]
    except OSError:
        _out["ok"] = False  # the server is gone: keep stopping and cleaning up regardless


def system(line):
    frame(b"s", line)


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
            if line.startswith(b"TERM "):
                self.stopped_runs.add(line[5:].decode("utf-8", "replace"))
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
        if getattr(error, "errno", None) == errno.EINTR or (error.args and error.args[0] == errno.EINTR):
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


def group_alive(pgid):
    """Whether the group has a live member; on Linux a group of zombies only counts as gone."""
    try:
        os.killpg(pgid, 0)
    except OSError as error:
        if error.errno == errno.ESRCH:
            return False
        if error.errno != errno.EPERM:
            raise
    if not sys.platform.startswith("linux"):
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as stat_file:
                stat = stat_file.read()
        except (IOError, OSError):
            continue
        fields = stat[stat.rfind(b")") + 2:].split(b" ")
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] not in (b"Z", b"X"):
            return True
    return False


def signal_group(pgid, number):
    try:
        os.killpg(pgid, number)
        return True
    except OSError as error:
        return error.errno != errno.ESRCH


def child_setup():
    os.setpgid(0, 0)
    if _prctl is not None:
        try:
            _prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG: dies with the supervisor
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
        raise Failure("spawn", "cannot start %s: %s" % (argv[0], error.strerror or error))
    pgid = proc.pid
    send_json(b"G", {"what": what, "pid": proc.pid, "pgid": pgid})
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
            system("stopping process group %d (%s): SIGTERM" % (pgid, "asked by the server"))
            signal_group(pgid, signal.SIGTERM)
            term_at = now
            stopped = stopped or "term"
        if term_at is not None and kill_at is None and now - term_at >= grace:
            if group_alive(pgid):
                system("process group %d still alive after %g s: SIGKILL" % (pgid, grace))
                signal_group(pgid, signal.SIGKILL)
            kill_at = now
        if status is None:
            status = proc.poll()
        if status is not None:
            if not group_alive(pgid):
                break
            if term_at is None and kill_at is None:
                system("process %d exited and left processes behind in its group: stopping them: SIGTERM" % pgid)
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
        system("the output pipes stayed open after the program ended (a process left its group?): no longer reading them")
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    if status is None:
        status = proc.poll()
    return status, stopped


# ---- virtualenvs ----------------------------------------------------------------------------


def ready_venv(link):
    try:
        real = os.path.realpath(link)
        if os.path.islink(link) and os.path.exists(os.path.join(real, "bin", "python")):
            return real
    except OSError:
        pass
    return None


def lock_stale(lock):
    try:
        mtime = os.stat(lock).st_mtime
    except OSError:
        return False
    if time.time() - mtime > LOCK_STALE:
        return True
    try:
        with open(os.path.join(lock, "owner")) as owner_file:
            owner = json.load(owner_file)
    except Exception:
        return False  # being written
    if owner.get("host") != socket.gethostname() or not isinstance(owner.get("pid"), int):
        return False
    if owner["pid"] == os.getpid():
        return True  # a leftover of a former process with this pid: this one holds no lock
    try:
        os.kill(owner["pid"], 0)
        return False
    except OSError as error:
        return error.errno == errno.ESRCH


def acquire_lock(lock):
    announced = False
    while True:
        if control.stopping():
            raise Stopped()
        try:
            os.mkdir(lock, 0o700)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
        else:
            with open(os.path.join(lock, "owner"), "w") as owner_file:
                json.dump({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}, owner_file)
            return
        if lock_stale(lock):
            system("taking over the abandoned lock %s" % lock)
            shutil.rmtree(lock, True)
            continue
        if not announced:
            system("waiting for another run installing the same virtualenv (lock %s)" % lock)
            announced = True
        wait({}, 0.2)


def heartbeat(lock):
    last = [time.time()]

    def tick():
        if time.time() - last[0] >= LOCK_HEARTBEAT:
            last[0] = time.time()
            try:
                os.utime(lock, None)
            except OSError:
                pass

    return tick


def pip_environment(spec, bin_dir):
    env = {
        "PATH": bin_dir + ":" + SAFE_PATH,
        "HOME": os.environ.get("HOME") or bin_dir,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in os.environ.items():
        if PIP_VARIABLE.match(name):
            env[name] = value
    env.update(spec["configEnv"])
    return env


def step(what, argv, cwd, spec, bin_dir, lock):
    status, stopped = run_group(
        argv, pip_environment(spec, bin_dir), cwd, "pip", spec["graceSeconds"], b"S", None, heartbeat(lock)
    )
    if stopped:
        raise Stopped()
    if status != 0:
        how = "was killed by signal %d" % -status if status is not None and status < 0 else "exited with code %s" % status
        raise Failure("build", "%s %s" % (what, how))


def ensure_venv(spec):
    requirements = spec["requirements"]
    identity = "python %s %d.%d.%d" % ((sys.executable,) + tuple(sys.version_info[:3]))
    digest = hashlib.sha256("\n".join([identity] + requirements).encode("utf-8")).hexdigest()[:32]
    root = spec["venvDir"]
    if not os.path.isdir(root):
        os.makedirs(root, 0o700)
    link = os.path.join(root, digest)
    ready = ready_venv(link)
    if ready:
        system("using the virtualenv %s" % digest)
        return ready
    lock = link + ".lock"
    acquire_lock(lock)
    try:
        ready = ready_venv(link)  # built by another run while this one waited
        if ready:
            system("using the virtualenv %s" % digest)
            return ready
        try:
            import ensurepip  # noqa: F401
            import venv  # noqa: F401
        except ImportError:
            raise Failure(
                "unavailable",
                "%s (Python %d.%d.%d) cannot create virtualenvs (no venv/ensurepip module; on Debian and Ubuntu "
                "install python3-venv), so programs with requirements cannot run" % ((sys.executable,) + tuple(sys.version_info[:3])),
            )
        suffix = "%08x" % random.getrandbits(32)
        target = os.path.join(root, "%s-%s" % (digest, suffix))
        temp_link = os.path.join(root, ".%s-%s.link" % (digest, suffix))
        try:
            system(
                "creating the virtualenv %s for %d requirement(s): %s"
                % (digest, len(requirements), ", ".join(requirements))
            )
            python_dir = os.path.dirname(sys.executable)
            step("python -m venv", [sys.executable, "-m", "venv", target], root, spec, python_dir, lock)
            listing = os.path.join(target, "tensorify-requirements.txt")
            with open(listing, "w") as listing_file:
                listing_file.write("\n".join(requirements) + "\n")
            bin_dir = os.path.join(target, "bin")
            pip_args = spec["pipArgs"]
            system("pip install -r requirements.txt" + ("".join(" " + arg for arg in pip_args)))
            argv = [os.path.join(bin_dir, "python"), "-m", "pip", "install", "--disable-pip-version-check", "-r", listing]
            step("pip install", argv + pip_args, target, spec, bin_dir, lock)
            os.symlink(os.path.basename(target), temp_link)
            os.rename(temp_link, link)
            system("virtualenv %s ready" % digest)
            return target
        except BaseException:
            for leftover in (temp_link,):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass
            shutil.rmtree(target, True)
            raise
    finally:
        shutil.rmtree(lock, True)


# ---- the run --------------------------------------------------------------------------------


def program_environment(spec, work_dir, bin_dir):
    env = {"PATH": bin_dir + ":" + SAFE_PATH if bin_dir not in SAFE_PATH.split(":") else SAFE_PATH, "HOME": work_dir}
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
    result = {"exitCode": None, "signal": None, "stopped": None, "started": False, "removed": False}
    work_dir = None
    try:
        os.chdir(spec["dir"])
        work_dir = os.getcwd()
        executable = sys.executable
        if spec["requirements"]:
            executable = os.path.join(ensure_venv(spec), "bin", "python")
        if control.stopping():
            raise Stopped()
        env = program_environment(spec, work_dir, os.path.dirname(executable))
        result["started"] = True
        status, stopped = run_group(
            [executable] + spec["args"], env, work_dir, "program", spec["graceSeconds"], b"o", b"e"
        )
        result["stopped"] = stopped
        if status is not None and status < 0:
            result["signal"] = -status
        else:
            result["exitCode"] = status
        try:
            with open(os.path.join(work_dir, OUTPUT_FILE), "rb") as output_file:
                frame(b"O", output_file.read())
        except (IOError, OSError) as error:
            if error.errno != errno.ENOENT:
                system("the output file (TENSORIFY_OUTPUT) cannot be read: %s" % error)
    except Stopped:
        result["stopped"] = control.reason()
    except Failure as failure:
        result["failure"] = {"kind": failure.kind, "message": str(failure)}
    except Exception as error:
        result["failure"] = {"kind": "internal", "message": "%s: %s" % (type(error).__name__, error)}
    finally:
        os.chdir(START_DIR)
        if work_dir is not None and not spec["keepWorkDir"]:
            shutil.rmtree(work_dir, True)
            result["removed"] = not os.path.exists(work_dir)
    send_json(b"X", result)
    control.stopped_runs.discard(spec["dir"])
    control.current = None
    return result


START_DIR = os.getcwd()


def main():
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    # SIGTERM (an operator, a shutdown): stop the run like TERM, then exit.
    signal.signal(signal.SIGTERM, lambda number, frame_: setattr(control, "quit", True))
    info = {"pid": os.getpid(), "python": sys.executable, "version": "%d.%d.%d" % tuple(sys.version_info[:3])}
    send_json(b"H", info)
    while True:
        while not control.commands:
            if control.eof or control.quit:
                return
            wait({}, 1.0)
        line = control.commands.pop(0)
        if not line.startswith(b"RUN "):
            send_json(b"X", {"failure": {"kind": "internal", "message": "unexpected command %r" % line[:40]}})
            return
        result = run(json.loads(line[4:].decode("utf-8")))
        if result["stopped"] or result.get("failure") or control.eof or control.quit:
            return


main()
`;

/**
 * Run with `python -c`: reads a decimal length and a newline, then that many bytes of code, from
 * stdin without reading further (what follows is the supervisor's), and runs them.
 */
export const BOOTSTRAP_SOURCE = String.raw`import os
h=b""
while not h.endswith(b"\n"):
    c=os.read(0,1)
    if not c: raise SystemExit(0)
    h+=c
n=int(h)
b=b""
while len(b)<n:
    c=os.read(0,n-len(b))
    if not c: raise SystemExit(0)
    b+=c
exec(compile(b,"tensorify-supervisor","exec"))
`;

/** Run with `python -c … REQUEST_JSON` after a run was stopped or lost its connection. */
export const CHECK_SOURCE = String.raw`# Confirms that a stopped run is gone: argv[1] is {"pgids": [...], "dir": "...", "remove": bool, "wait": s}.
# Process groups still alive get SIGKILL; it waits up to "wait" s for them to vanish, removes the run
# directory when asked, and prints {"alive": [pgids still alive], "killed": [...], "removed": bool|null}.
import errno, json, os, shutil, signal, sys, time


def alive(pgid):
    try:
        os.killpg(pgid, 0)
    except OSError as error:
        if error.errno == errno.ESRCH:
            return False
    if not sys.platform.startswith("linux"):
        return True
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, "rb") as stat_file:
                    stat = stat_file.read()
            except (IOError, OSError):
                continue
            fields = stat[stat.rfind(b")") + 2:].split(b" ")
            if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] not in (b"Z", b"X"):
                return True
    return False


request = json.loads(sys.argv[1])
killed = []
for pgid in request["pgids"]:
    if alive(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
            killed.append(pgid)
        except OSError:
            pass
deadline = time.time() + request["wait"]
left = [pgid for pgid in request["pgids"] if alive(pgid)]
while left and time.time() < deadline:
    time.sleep(0.05)
    left = [pgid for pgid in left if alive(pgid)]
removed = None
if request["dir"] and request["remove"]:
    shutil.rmtree(request["dir"], True)
    removed = not os.path.exists(request["dir"])
sys.stdout.write(json.dumps({"alive": left, "killed": killed, "removed": removed}) + "\n")
`;
