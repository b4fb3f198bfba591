import json
import os
import subprocess
import sys
import tempfile
import unittest

from check import check
from helpers import PYTHON_DIR
from process_group import group_alive


class CheckTest(unittest.TestCase):
    def test_kills_a_group_still_alive_and_removes_the_run_directory(self):
        run_dir = tempfile.mkdtemp()
        sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
        answer = check(
            {"pgids": [sleeper.pid], "dir": run_dir, "remove": True, "wait": 5}
        )
        sleeper.wait()
        self.assertEqual(
            answer, {"alive": [], "killed": [sleeper.pid], "removed": True}
        )
        self.assertFalse(os.path.exists(run_dir))
        self.assertFalse(group_alive(sleeper.pid))

    def test_a_group_already_gone_is_not_killed_and_a_kept_directory_stays(self):
        run_dir = tempfile.mkdtemp()
        sleeper = subprocess.Popen(["true"], start_new_session=True)
        sleeper.wait()
        try:
            answer = check(
                {"pgids": [sleeper.pid], "dir": run_dir, "remove": False, "wait": 1}
            )
            self.assertEqual(answer, {"alive": [], "killed": [], "removed": None})
            self.assertTrue(os.path.isdir(run_dir))
        finally:
            os.rmdir(run_dir)

    def test_as_a_script_it_prints_its_answer_as_one_json_line(self):
        request = {"pgids": [], "dir": "", "remove": True, "wait": 0}
        printed = subprocess.check_output(
            [sys.executable, os.path.join(PYTHON_DIR, "check.py"), json.dumps(request)],
            env=dict(os.environ, PYTHONPATH=PYTHON_DIR),
        )
        self.assertEqual(
            json.loads(printed), {"alive": [], "killed": [], "removed": None}
        )


if __name__ == "__main__":
    unittest.main()
