"""The virtualenvs of a host: one per interpreter and requirements, built once, shared by runs."""

import errno
import hashlib
import importlib
import json
import os
import random
import re
import shutil
import socket
import sys
import time

from channel import FRAME, Failure, Stopped, control, system, wait
from group_runner import run_group

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
PIP_VARIABLE = re.compile(
    r"^(PIP_.+|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|all_proxy|ALL_PROXY"
    r"|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE)$"
)
LOCK_HEARTBEAT = 5.0
LOCK_STALE = 30.0
# A file in each venv whose mtime is its last use: touched when a run takes the venv and every
# LOCK_HEARTBEAT s while its program runs, so a venv marked within IN_USE s is in use (prune.py).
LAST_USED = ".tensorify-last-used"
IN_USE = LOCK_STALE


def mark_used(venv):
    path = os.path.join(venv, LAST_USED)
    try:
        os.utime(path, None)
    except OSError:
        try:
            open(path, "a").close()
        except OSError:
            pass  # the venv is going: nothing to mark


def use_venv(link, ready):
    """Marks the venv a run is taking; None when it was pruned meanwhile (its link is gone)."""
    mark_used(ready)
    return ready if ready_venv(link) == ready else None


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
    if owner.get("host") != socket.gethostname() or not isinstance(
        owner.get("pid"), int
    ):
        return False
    if owner["pid"] == os.getpid():
        return (
            True  # a leftover of a former process with this pid: this one holds no lock
        )
    try:
        os.kill(owner["pid"], 0)
        return False
    except OSError as error:
        return error.errno == errno.ESRCH


def try_lock(lock):
    """Takes the lock directory when nobody holds it; never waits."""
    try:
        os.mkdir(lock, 0o700)
    except OSError as error:
        if error.errno != errno.EEXIST:
            raise
        return False
    with open(os.path.join(lock, "owner"), "w") as owner_file:
        json.dump(
            {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()},
            owner_file,
        )
    return True


def acquire_lock(lock):
    announced = False
    while True:
        if control.stopping():
            raise Stopped()
        if try_lock(lock):
            return
        if lock_stale(lock):
            system("taking over the abandoned lock %s" % lock)
            shutil.rmtree(lock, True)
            continue
        if not announced:
            system(
                "waiting for another run installing the same virtualenv (lock %s)"
                % lock
            )
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
        argv,
        pip_environment(spec, bin_dir),
        cwd,
        "pip",
        spec["graceSeconds"],
        FRAME["pip"],
        None,
        heartbeat(lock),
    )
    if stopped:
        raise Stopped()
    if status != 0:
        how = (
            "was killed by signal %d" % -status
            if status is not None and status < 0
            else "exited with code %s" % status
        )
        raise Failure("build", "%s %s" % (what, how))


def ensure_venv(spec):
    requirements = spec["requirements"]
    identity = "python %s %d.%d.%d" % ((sys.executable,) + tuple(sys.version_info[:3]))
    digest = hashlib.sha256(
        "\n".join([identity] + requirements).encode("utf-8")
    ).hexdigest()[:32]
    root = spec["venvDir"]
    if not os.path.isdir(root):
        os.makedirs(root, 0o700)
    link = os.path.join(root, digest)
    ready = ready_venv(link)
    if ready and use_venv(link, ready):
        system("using the virtualenv %s" % digest)
        return ready
    lock = link + ".lock"
    acquire_lock(lock)
    try:
        ready = ready_venv(link)  # built by another run while this one waited
        if ready and use_venv(link, ready):
            system("using the virtualenv %s" % digest)
            return ready
        try:
            for module in ("ensurepip", "venv"):
                importlib.import_module(module)
        except ImportError:
            raise Failure(
                "unavailable",
                "%s (Python %d.%d.%d) cannot create virtualenvs (no venv/ensurepip module; on Debian and Ubuntu "
                "install python3-venv), so programs with requirements cannot run"
                % ((sys.executable,) + tuple(sys.version_info[:3])),
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
            step(
                "python -m venv",
                [sys.executable, "-m", "venv", target],
                root,
                spec,
                python_dir,
                lock,
            )
            listing = os.path.join(target, "tensorify-requirements.txt")
            with open(listing, "w") as listing_file:
                listing_file.write("\n".join(requirements) + "\n")
            bin_dir = os.path.join(target, "bin")
            pip_args = spec["pipArgs"]
            system(
                "pip install -r requirements.txt"
                + ("".join(" " + arg for arg in pip_args))
            )
            argv = [
                os.path.join(bin_dir, "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-r",
                listing,
            ]
            step("pip install", argv + pip_args, target, spec, bin_dir, lock)
            mark_used(target)
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
