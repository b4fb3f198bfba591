import os
import signal
import subprocess
import unittest

from helpers import wait_until
from process_group import group_alive, group_states, signal_group


def start_group(command):
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)


class ProcessGroupTest(unittest.TestCase):
    def test_a_group_with_a_running_member_is_alive(self):
        sleeper = start_group(["sleep", "30"])
        try:
            self.assertTrue(group_alive(sleeper.pid))
            (state,) = group_states(sleeper.pid)  # R while it starts, then S
            self.assertNotIn(state, (b"Z", b"X"))
        finally:
            sleeper.kill()
            sleeper.wait()

    def test_a_group_whose_members_are_reaped_is_gone(self):
        sleeper = start_group(["sleep", "30"])
        sleeper.kill()
        sleeper.wait()
        self.assertFalse(group_alive(sleeper.pid))
        self.assertFalse(signal_group(sleeper.pid, signal.SIGTERM))

    def test_a_group_of_zombies_counts_as_gone(self):
        zombie = start_group(["sleep", "30"])
        try:
            self.assertTrue(signal_group(zombie.pid, signal.SIGKILL))
            # Not reaped: the process stays a zombie, which kill(-pgid, 0) still finds.
            wait_until(lambda: group_states(zombie.pid) == [b"Z"])
            os.killpg(zombie.pid, 0)
            self.assertFalse(group_alive(zombie.pid))
        finally:
            zombie.wait()

    def test_a_member_left_behind_by_the_leader_keeps_the_group_alive(self):
        leader = start_group(["sh", "-c", "sleep 30 &"])
        leader.wait()
        try:
            self.assertTrue(group_alive(leader.pid))
        finally:
            signal_group(leader.pid, signal.SIGKILL)
        wait_until(lambda: not group_alive(leader.pid))


if __name__ == "__main__":
    unittest.main()
