"""The warm zygote of Tensorify Server's local executor.

One per virtualenv. It imports the modules the generated programs import, then waits for orders
from the server; it never runs a program itself. Each run is a fresh fork that becomes what a cold
`python main.py` is (see `become` below), so nothing a run does can reach the next one.

File descriptors, all set up by the server:
  0  orders, one JSON object a line
  1  the zygote's own stdout and 2 its stderr (an import's chatter; the server logs them)
  3  the lifeline: a pipe from the server that is never written; its end of file means the
     server died, so the zygote kills every run it forked and exits
  4  replies, one JSON object a line: {"op": "ready"}, {"id", "pid"}, {"id", "error"},
     {"op": "exit", "pid", "status"}

Usage: python zygote.py '<JSON list of module names>'
"""

import atexit
import builtins
import gc
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
import traceback
import types

ORDERS, LIFELINE, REPLIES = 0, 3, 4


def reply(message):
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(REPLIES, data) :]


def thread_count():
    """The Python threads an import started: forking is only safe with none. (Native pools are
    allowed: OpenBLAS, which numpy loads, starts its threads at import and stops them at each fork
    with its own pthread_atfork handler; the fork restarts them on first use, as a cold run would.)
    """
    threading = sys.modules.get("threading")
    return threading.active_count() if threading else 1


def native_threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def preload(names, imported, failed):
    """Imports modules (import only: nothing of a program runs here); a module that fails is skipped."""
    for name in names:
        if name in imported or name in failed:
            continue
        try:
            importlib.import_module(name)
            imported.add(name)
        except BaseException as error:  # an import may even call sys.exit
            failed[name] = f"{type(error).__name__}: {error}"
    # What the imports made never changes: out of the collector's sight, the forks' collections
    # only look at what their run makes, and the zygote's pages stay shared (copy-on-write).
    gc.collect()
    gc.freeze()


def kill_runs(children):
    for pid in list(children):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def serve(imported, failed):
    """Answers orders until one fork's child returns here with its order (in the child)."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children = {}
    pending = b""
    while True:
        readable, _, _ = select.select([ORDERS, LIFELINE, wake_read], [], [])
        if wake_read in readable:
            try:
                while os.read(wake_read, 512):
                    pass
            except BlockingIOError:
                pass
            while children:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                children.pop(pid, None)
                reply(
                    {
                        "op": "exit",
                        "pid": pid,
                        "status": os.waitstatus_to_exitcode(status),
                    }
                )
        if LIFELINE in readable and not os.read(LIFELINE, 512):
            kill_runs(children)  # the server died: nothing it started may outlive it
            os._exit(0)
        if ORDERS in readable:
            data = os.read(ORDERS, 65536)
            if not data:
                kill_runs(children)
                os._exit(0)
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                order = json.loads(line)
                preload(order.get("modules", []), imported, failed)
                threads = thread_count()
                if threads != 1:
                    reply(
                        {
                            "id": order["id"],
                            "error": f"the zygote has {threads} Python threads after its imports: forking it is unsafe",
                            "fatal": True,
                        }
                    )
                    os._exit(0)
                try:
                    pid = os.fork()
                except OSError as error:
                    reply({"id": order["id"], "error": f"fork failed: {error}"})
                    continue
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.close(wake_read)
                    os.close(wake_write)
                    return order
                try:
                    os.setpgid(pid, pid)  # also done by the child: whichever runs first
                except OSError:
                    pass
                children[pid] = order["id"]
                reply({"id": order["id"], "pid": pid, "imported": sorted(imported)})


def become(order):
    """Turns the forked child into the run: what `python main.py` would be in a cold start."""
    os.setpgid(0, 0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, stream in ((1, "stdout"), (2, "stderr")):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(order["socket"])
        connection.sendall(f"{order['token']} {stream}\n".encode())
        os.dup2(connection.fileno(), fd)
        connection.close()
    limit = order.get("memoryLimitKb")
    if limit:
        # As the cold run's leader shell does with `ulimit -d` (why RLIMIT_DATA: process-group.ts),
        # in this fork only: the zygote itself is never limited, so a run past it cannot harm it.
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (limit * 1024, limit * 1024))
        except (ValueError, OSError) as error:
            os.write(
                2,
                f"tensorify: cannot set the memory limit (RLIMIT_DATA {limit} KiB): {error}\n".encode(),
            )
            os._exit(126)
    os.close(LIFELINE)
    os.close(REPLIES)
    os.chdir(order["cwd"])
    os.environ.clear()
    os.environ.update(order["env"])
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    sys.argv = list(order["argv"])
    sys.path.insert(0, os.getcwd())
    # `random` reseeds itself after a fork; numpy's global generator does not.
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()
    path = os.path.join(os.getcwd(), sys.argv[0])
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    with open(path, "rb") as file:
        code = compile(file.read(), path, "exec")
    return code, main.__dict__


def exit_status(error):
    """The exit status `python main.py` gives for an uncaught SystemExit (printing its message)."""
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def inherited_finalizers():
    """The `weakref.finalize` objects the zygote's imports made (taken in the fork, before the
    program runs). weakref has no public list of them: its registry is the only place.
    """
    weakref = sys.modules.get("weakref")
    registry = getattr(getattr(weakref, "finalize", None), "_registry", None)
    return list(registry) if isinstance(registry, dict) else []


def finish(status, preloaded, inherited, interrupted=False):
    """Ends the run as Python's own shutdown would, less the teardown of the zygote's modules
    (with torch loaded, that alone takes half a second): wait for the program's threads, run the
    atexit callbacks, free the program's modules and objects (so that, say, a file it left open
    is flushed and closed), flush the standard streams, and exit.

    The finalizers the zygote's imports registered (`inherited`: torch's 134 `Library` objects,
    whose unregistering took 90 to 190 ms of each forked run of the inference benchmark) are not
    run at exit: they tear down the zygote's modules, and what they would clean up outside the
    process (a temporary directory an import made) is the zygote's, still in use by the next
    forks. The program's own finalizers (its `TemporaryDirectory`…) run, as in a cold run.
    """
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    for finalizer in inherited:
        finalizer.atexit = False
    atexit._run_exitfuncs()
    program = sys.modules.pop("__main__", None)
    for name in [name for name in sys.modules if name not in preloaded]:
        sys.modules.pop(name, None)
    if program is not None:
        program.__dict__.clear()
    del program
    gc.collect()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    if interrupted:  # as Python does for an uncaught KeyboardInterrupt: die by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


if __name__ == "__main__":
    _zygote = sys.modules["__main__"]  # kept alive once a run's module takes its place
    del sys.path[0]  # never import from this file's directory (or a run's)
    _imported, _failed = set(), {}
    preload(json.loads(sys.argv[1]), _imported, _failed)
    reply(
        {
            "op": "ready",
            "pid": os.getpid(),
            "threads": thread_count(),
            "nativeThreads": native_threads(),
            "imported": sorted(_imported),
            "failed": _failed,
        }
    )
    _code, _globals = become(serve(_imported, _failed))
    _preloaded = set(sys.modules)
    _inherited = inherited_finalizers()
    del _imported, _failed
    _status, _interrupted = 0, False
    try:
        exec(_code, _globals)
    except SystemExit as _exit:
        _status = exit_status(_exit)
        del _exit
    except BaseException:
        _type, _value, _traceback = sys.exc_info()
        # The traceback `python main.py` would print: from the program's frames on.
        traceback.print_exception(_type, _value, _traceback.tb_next)
        _status, _interrupted = 1, isinstance(_value, KeyboardInterrupt)
        del _type, _value, _traceback
    del _code, _globals
    finish(_status, _preloaded, _inherited, _interrupted)
