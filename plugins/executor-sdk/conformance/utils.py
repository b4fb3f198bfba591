"""The run's inputs, as every executor passes them: TENSORIFY_INPUTS, or --inputs FILE."""

import json
import os
import sys


def read_inputs():
    if "--inputs" in sys.argv:
        with open(sys.argv[sys.argv.index("--inputs") + 1]) as inputs_file:
            return json.load(inputs_file)
    return json.loads(os.environ.get("TENSORIFY_INPUTS") or "{}")


def write_output(value):
    with open(os.environ["TENSORIFY_OUTPUT"], "w") as output_file:
        json.dump(value, output_file)
