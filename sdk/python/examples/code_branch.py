"""Score and branch: Python code, an ``if`` with ``true``/``false`` handles, two returns (``code-branch.json``)."""

from tensorify.workflow import Workflow

SCORE = 'values = input["numbers"]\nreturn {"total": sum(values), "count": len(values)}'


def build() -> Workflow:
    wf = Workflow("Score and branch", description="Scores a list of numbers with Python code, then branches on the score.")
    trigger = wf.node("manual", id="trigger")
    # A code node reads its data from `input`, so nothing refers to the trigger: say where it runs.
    score = wf.node("code", id="score", after=trigger, code=SCORE)
    check = wf.node("if", id="check", condition=f"{score['total']} > 10")
    # Each return hangs off one branch; score is upstream of both through check, so no edge is added for score['total'].
    wf.node("return", id="big", after=check.handle("true"), value={"verdict": "big", "total": score["total"]})
    wf.node("return", id="small", after=check.handle("false"), value={"verdict": "small", "total": score["total"]})
    return wf


if __name__ == "__main__":
    print(build().to_json())
