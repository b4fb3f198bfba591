import json
import os
import shutil
import tempfile
import unittest

from helpers import FRAME, SupervisorProcess
from process_group import group_alive


def spec(run_dir, **overrides):
    value = {
        "dir": run_dir,
        "env": {"LANG": "C.UTF-8", "TENSORIFY_EXECUTION_ID": "exec_test"},
        "configEnv": {},
        "passEnv": [],
        "jobEnv": {"FROM_JOB": "yes"},
        "args": ["main.py"],
        "requirements": [],
        "venvDir": os.path.join(os.path.dirname(run_dir), "venvs"),
        "pipArgs": [],
        "graceSeconds": 1,
        "keepWorkDir": False,
    }
    value.update(overrides)
    return value


class SupervisorTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.supervisor = SupervisorProcess(self.root)
        kind, payload = self.supervisor.next_frame()
        self.assertEqual(kind, FRAME["hello"])
        self.hello = json.loads(payload.decode("utf-8"))

    def tearDown(self):
        self.supervisor.finish()
        shutil.rmtree(self.root, True)

    def run_dir(self, main):
        run_dir = tempfile.mkdtemp(dir=self.root)
        with open(os.path.join(run_dir, "main.py"), "w") as main_file:
            main_file.write(main)
        return run_dir

    def frames_of(self, frames, name):
        return [payload for kind, payload in frames if kind == FRAME[name]]

    def test_says_hello_with_its_pid_and_python(self):
        self.assertEqual(self.hello["pid"], self.supervisor.process.pid)
        self.assertRegex(self.hello["version"], r"^3\.\d+\.\d+$")

    def test_runs_a_program_streams_its_output_and_removes_its_directory(self):
        main = (
            "import json, os, sys\n"
            "print('out', os.environ['FROM_JOB'])\n"
            "print('err', file=sys.stderr)\n"
            "json.dump({'answer': 42}, open(os.environ['TENSORIFY_OUTPUT'], 'w'))\n"
        )
        run_dir = self.run_dir(main)
        self.supervisor.send("run", json.dumps(spec(run_dir)))
        frames = self.supervisor.frames_until(FRAME["end"])
        group = json.loads(self.frames_of(frames, "group")[0].decode("utf-8"))
        self.assertEqual(group["what"], "program")
        self.assertEqual(group["pid"], group["pgid"])
        self.assertEqual(b"".join(self.frames_of(frames, "stdout")), b"out yes\n")
        self.assertEqual(b"".join(self.frames_of(frames, "stderr")), b"err\n")
        self.assertEqual(
            json.loads(self.frames_of(frames, "output")[0].decode("utf-8")),
            {"answer": 42},
        )
        end = json.loads(self.frames_of(frames, "end")[0].decode("utf-8"))
        self.assertEqual(
            end,
            {
                "exitCode": 0,
                "signal": None,
                "stopped": None,
                "started": True,
                "removed": True,
            },
        )
        self.assertFalse(os.path.exists(run_dir))

    def test_waits_for_the_next_run_after_one_that_ended_on_its_own(self):
        for code in (3, 0):
            self.supervisor.send(
                "run", json.dumps(spec(self.run_dir("raise SystemExit(%d)\n" % code)))
            )
            end = json.loads(
                self.supervisor.frames_until(FRAME["end"])[-1][1].decode("utf-8")
            )
            self.assertEqual(end["exitCode"], code)

    def test_term_stops_the_group_with_sigkill_after_the_grace_period_and_then_exits(
        self,
    ):
        run_dir = self.run_dir(
            'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("up", flush=True)\ntime.sleep(60)\n'
        )
        self.supervisor.send("run", json.dumps(spec(run_dir)))
        frames = self.supervisor.frames_until(FRAME["stdout"])
        pgid = json.loads(self.frames_of(frames, "group")[0].decode("utf-8"))["pgid"]
        self.supervisor.send("term", run_dir)
        frames = self.supervisor.frames_until(FRAME["end"])
        end = json.loads(frames[-1][1].decode("utf-8"))
        self.assertEqual(
            (end["stopped"], end["signal"], end["removed"]), ("term", 9, True)
        )
        system = b"\n".join(self.frames_of(frames, "system")).decode("utf-8")
        self.assertIn("SIGTERM", system)
        self.assertIn("still alive after 1 s: SIGKILL", system)
        self.assertFalse(group_alive(pgid))
        self.assertEqual(self.supervisor.finish(), 0)

    def test_the_end_of_its_input_kills_the_group_at_once(self):
        run_dir = self.run_dir('print("up", flush=True)\nimport time\ntime.sleep(60)\n')
        self.supervisor.send("run", json.dumps(spec(run_dir)))
        frames = self.supervisor.frames_until(FRAME["stdout"])
        pgid = json.loads(self.frames_of(frames, "group")[0].decode("utf-8"))["pgid"]
        self.supervisor.close_input()
        end = json.loads(
            self.supervisor.frames_until(FRAME["end"])[-1][1].decode("utf-8")
        )
        self.assertEqual((end["stopped"], end["signal"]), ("lifeline", 9))
        self.assertFalse(group_alive(pgid))

    def test_an_unknown_command_ends_it_with_an_internal_failure(self):
        self.supervisor.send_line(b"HELLO there\n")
        end = json.loads(
            self.supervisor.frames_until(FRAME["end"])[-1][1].decode("utf-8")
        )
        self.assertEqual(end["failure"]["kind"], "internal")
        self.assertIn("unexpected command", end["failure"]["message"])

    def test_a_missing_run_directory_is_an_internal_failure_and_nothing_starts(self):
        missing = os.path.join(self.root, "missing")
        self.supervisor.send("run", json.dumps(spec(missing)))
        end = json.loads(
            self.supervisor.frames_until(FRAME["end"])[-1][1].decode("utf-8")
        )
        self.assertEqual((end["started"], end["failure"]["kind"]), (False, "internal"))


if __name__ == "__main__":
    unittest.main()
