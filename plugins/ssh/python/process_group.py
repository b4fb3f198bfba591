"""Process groups on the host: whether one still has a live member, and signalling it."""

import errno
import os
import sys


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
    states = group_states(pgid)
    return states is None or any(state not in (b"Z", b"X") for state in states)


def group_states(pgid):
    """The states (R, S, Z...) of the group's processes, from /proc; None when it cannot be read."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    states = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as stat_file:
                stat = stat_file.read()
        except (IOError, OSError):
            continue  # gone meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split(b" ")
        if len(fields) > 2 and fields[2] == str(pgid).encode():
            states.append(fields[0])
    return states


def signal_group(pgid, number):
    """Sends a signal to the group; False when the group no longer exists."""
    try:
        os.killpg(pgid, number)
        return True
    except OSError as error:
        return error.errno != errno.ESRCH
