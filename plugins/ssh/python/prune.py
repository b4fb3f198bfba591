"""Prunes a host's virtualenvs for the server: one SSH command lists them, one per venv deletes it.

argv[1] is {"venvDir": "..."}: it prints one JSON line, the venvs: {"venvs": [{"key", "sizeBytes",
"lastUsedAt" (ms since the epoch), "inUse"}]}. The server decides which go (its cache limits) and
for each runs it with {"venvDir": "...", "delete": key}: it deletes that venv if it is still
unused and prints {"deleted": true} or {"deleted": false}. A venv is in use while its build lock is held or while its
last-use mark is fresh (runs touch it as they start and while they run; see venvs.py). Deleting
takes the build lock, unpublishes the venv (renames its link away, so a run now looking for it
waits for the lock and builds it again), checks the mark once more (putting the link back when a
run took the venv meanwhile), then removes the directory.
"""

import json
import os
import re
import shutil
import sys
import time

from venvs import IN_USE, LAST_USED, ready_venv, try_lock

NAME = re.compile(r"^[0-9a-f]{32}$")


def marked_at(venv):
    try:
        return os.stat(os.path.join(venv, LAST_USED)).st_mtime
    except OSError:
        return None


def fresh(venv):
    at = marked_at(venv)
    return at is not None and time.time() - at < IN_USE


def size_of(venv):
    total = 0
    for parent, _dirs, files in os.walk(venv):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                pass
    return total


def listing(root):
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        venv = ready_venv(os.path.join(root, name)) if NAME.match(name) else None
        if not venv:
            continue
        at = marked_at(venv)
        yield name, venv, {
            "key": name,
            "sizeBytes": size_of(venv),
            "lastUsedAt": int(
                1000 * (at if at is not None else os.stat(venv).st_mtime)
            ),
            "inUse": os.path.exists(os.path.join(root, name + ".lock")) or fresh(venv),
        }


def delete(root, name, venv):
    lock = os.path.join(root, name + ".lock")
    if not try_lock(lock):
        return False  # being built
    try:
        link = os.path.join(root, name)
        if fresh(venv) or ready_venv(link) != venv:
            return False
        unpublished = os.path.join(root, ".%s.pruning" % os.path.basename(venv))
        os.rename(link, unpublished)
        if fresh(venv):
            os.rename(unpublished, link)  # a run took it just now
            return False
        os.unlink(unpublished)
        shutil.rmtree(venv, True)
        return True
    finally:
        shutil.rmtree(lock, True)


def main(request):
    root = os.path.abspath(request["venvDir"])
    name = request.get("delete")
    if name is None:
        venvs = [entry for _n, _v, entry in listing(root)]
        sys.stdout.write(json.dumps({"venvs": venvs}) + "\n")
        return
    venv = ready_venv(os.path.join(root, name)) if NAME.match(name) else None
    sys.stdout.write(
        json.dumps({"deleted": bool(venv) and delete(root, name, venv)}) + "\n"
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
