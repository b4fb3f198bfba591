"""Starts a child that sleeps, says "started", then sleeps; {"ignoreTerm": true} ignores SIGTERM."""

import signal
import subprocess
import sys
import time

from utils import read_inputs

if read_inputs().get("ignoreTerm"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print("started", child.pid, flush=True)
time.sleep(120)
