"""Summarize: a chat model behind an OpenAI-compatible endpoint (``summarize.json``)."""

from tensorify.workflow import Workflow, env


def build() -> Workflow:
    wf = Workflow("Summarize", description="Summarizes a prompt with an OpenAI-compatible chat model.")
    trigger = wf.node("manual", id="trigger")
    llm = wf.node(
        "openai-chat",
        id="llm",
        model="gpt-4o-mini",
        system="You are a concise assistant.",
        prompt=f"Summarize in one sentence: {trigger['prompt']}",
        temperature=0.2,
        # env[...] is {{ env.NAME }}: read on the machine that runs the workflow, never stored.
        baseUrl=env["OPENAI_BASE_URL"],
        apiKey=env["OPENAI_API_KEY"],
    )
    wf.node("return", id="out", value={"result": llm["text"]})
    return wf


if __name__ == "__main__":
    print(build().to_json())
