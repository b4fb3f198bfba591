"""Hello: trigger → transform → return (the shared example ``hello.json``, written in Python).

Run it to print the workflow's JSON; push and run it with the client::

    from tensorify import Tensorify
    run = Tensorify().workflows.create(build()).run(inputs={"name": "Ada"}).wait()
"""

from tensorify.workflow import Workflow


def build() -> Workflow:
    wf = Workflow("Hello", description="Greets whoever is named in the inputs.")
    trigger = wf.node("manual", id="trigger")
    # trigger["name"] formats as {{ trigger.name }}, and adds the edge trigger → greeting.
    greeting = wf.node("transform", id="greeting", value={"message": f"Hello, {trigger['name']}!"})
    wf.node("return", id="out", value={"result": greeting["message"]})
    return wf


if __name__ == "__main__":
    print(build().to_json())
