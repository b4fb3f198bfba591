"""Confirms that a stopped run is gone.

argv[1] is {"pgids": [...], "dir": "...", "remove": bool, "wait": s}. Process groups still alive get
SIGKILL; it waits up to "wait" s for them to vanish, removes the run directory when asked, and
prints {"alive": [pgids still alive], "killed": [...], "removed": bool|null}.
"""

import json
import os
import shutil
import signal
import sys
import time

from process_group import group_alive


def check(request):
    killed = []
    for pgid in request["pgids"]:
        if group_alive(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
                killed.append(pgid)
            except OSError:
                pass
    deadline = time.time() + request["wait"]
    left = [pgid for pgid in request["pgids"] if group_alive(pgid)]
    while left and time.time() < deadline:
        time.sleep(0.05)
        left = [pgid for pgid in left if group_alive(pgid)]
    removed = None
    if request["dir"] and request["remove"]:
        shutil.rmtree(request["dir"], True)
        removed = not os.path.exists(request["dir"])
    return {"alive": left, "killed": killed, "removed": removed}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(check(json.loads(sys.argv[1]))) + "\n")
