"""The workflow builder: the shared examples written in Python, round trips, references and their
edges, and check() against a real server's catalogue and its own answers (parity)."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from tensorify.workflow import BuilderError, Catalog, Node, Ref, Workflow, env, inputs

# The helper sits beside this file; the tests folder may or may not be a package, so import it by path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _builder_server import Server, examples_dir, running_server  # noqa: E402

EXAMPLE_SCRIPTS = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = {"hello": "hello", "code-branch": "code_branch", "summarize": "summarize", "classifier": "classifier"}


def load_example(name: str) -> Dict[str, Any]:
    with open(examples_dir() / f"{name}.json", encoding="utf-8") as file:
        data: Dict[str, Any] = json.load(file)
    return data


def example_script(module: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tensorify_example_{module}", EXAMPLE_SCRIPTS / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


@pytest.fixture(scope="module", name="server")
def builder_server() -> Iterator[Server]:
    """A server of this module's own (conftest.py's session server is the client tests')."""
    with running_server() as started:
        yield started


@pytest.fixture(scope="module")
def catalog_payload(server: Server) -> Dict[str, Any]:
    status, payload = server.request("GET", "/nodes")
    assert status == 200, payload
    return payload


@pytest.fixture(scope="module")
def catalog(catalog_payload: Dict[str, Any]) -> Catalog:
    return Catalog.from_payload(catalog_payload)


# ---- the shared examples -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_in_python_gives_the_example_json(name: str) -> None:
    built = example_script(EXAMPLES[name]).build()
    assert built.to_dict() == load_example(name)
    # Equal as text too: the same order of nodes, edges and keys where the file has them.
    assert [edge.to_dict() for edge in built.edges] == load_example(name)["edges"]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_round_trips(name: str) -> None:
    body = load_example(name)
    assert Workflow.from_dict(body).to_dict() == body
    assert Workflow.from_json(json.dumps(body)).to_dict() == body


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_pass_check_against_the_real_catalogue(name: str, catalog: Catalog) -> None:
    example_script(EXAMPLES[name]).build().check(catalog)
    Workflow.from_dict(load_example(name)).check(catalog)
    assert Workflow.from_dict(load_example(name)).report(catalog).to_dict() == {"valid": True, "errors": {"nodes": {}, "graph": []}}


def test_check_takes_the_payload_of_get_nodes_as_the_client_passes_it(catalog_payload: Dict[str, Any]) -> None:
    example_script("classifier").build().check(catalog_payload)
    example_script("hello").build().check(catalog_payload["nodes"])
    with pytest.raises(TypeError, match="GET /v1/nodes"):
        Workflow("X").check({"types": []})


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_build_with_the_catalogue_attached(name: str, catalog: Catalog) -> None:
    """With a catalogue the builder checks each node and edge as it is added; the examples pass."""
    module = example_script(EXAMPLES[name])
    original = getattr(module, "Workflow")
    try:
        setattr(module, "Workflow", lambda *args, **kwargs: original(*args, catalog=catalog, **kwargs))
        assert module.build().to_dict() == load_example(name)
    finally:
        setattr(module, "Workflow", original)


def test_the_server_accepts_what_the_builder_sends(server: Server) -> None:
    status, created = server.request("POST", "/workflows", example_script("hello").build().to_dict())
    assert status == 201, created
    stored = Workflow.from_dict(created)
    assert stored.id == created["id"] and stored.version == 1
    assert stored.to_dict() == load_example("hello")


@pytest.mark.parametrize("name", ["hello", "code-branch"])
def test_a_workflow_written_in_python_runs_and_gives_the_expected_output(name: str, server: Server) -> None:
    status, created = server.request("POST", "/workflows", example_script(EXAMPLES[name]).build().to_dict())
    assert status == 201, created
    with open(examples_dir() / f"{name}.inputs.json", encoding="utf-8") as file:
        inputs_body = json.load(file)
    status, started = server.request("POST", f"/workflows/{created['id']}/execute", {"inputs": inputs_body})
    assert status == 202, started
    execution = wait_for_execution(server, started["executionId"])
    assert execution["status"] == "completed", execution
    with open(examples_dir() / f"{name}.expected-output.json", encoding="utf-8") as file:
        assert execution["output"] == json.load(file)


def wait_for_execution(server: Server, execution_id: str) -> Dict[str, Any]:
    """Polls until the execution ends; the bound only stops a hung run from hanging the test run."""
    deadline = time.monotonic() + 600
    while True:
        status, execution = server.request("GET", f"/executions/{execution_id}")
        assert status == 200, execution
        if execution["status"] not in ("queued", "running"):
            return execution
        assert time.monotonic() < deadline, f"execution {execution_id} still {execution['status']} after 600 s"
        time.sleep(0.2)


# ---- round trips ---------------------------------------------------------------------------------


def test_round_trip_keeps_absent_and_null_keys_and_editor_fields() -> None:
    body = {
        "name": "Kept",
        "nodes": [
            {"id": "trigger", "type": "manual"},
            {"id": "t", "type": "transform@1", "settings": {"value": "{{ trigger }}"}, "position": {"x": 1, "y": 2}, "ui": {"color": "red"}},
        ],
        "edges": [
            {"id": "e1", "source": "trigger", "sourceHandle": None, "target": "t", "targetHandle": None},
            {"source": "trigger", "target": "t"},
        ],
    }
    assert Workflow.from_dict(body).to_dict() == body


def test_from_dict_adds_no_edges_to_read_nodes_but_new_nodes_get_theirs() -> None:
    body = {"name": "X", "nodes": [{"id": "a", "type": "manual", "settings": {}}, {"id": "b", "type": "transform", "settings": {"value": "{{ a.x }}"}}], "edges": []}
    wf = Workflow.from_dict(body)
    assert wf.to_dict()["edges"] == []
    wf.node("return", id="out", value=wf["a"]["y"])
    assert wf.to_dict()["edges"] == [{"source": "a", "target": "out"}]


def test_from_dict_refuses_what_the_api_would_refuse() -> None:
    with pytest.raises(BuilderError, match='no property "owner"'):
        Workflow.from_dict({"name": "X", "nodes": [], "edges": [], "owner": "me"})
    with pytest.raises(BuilderError, match='Node at index 0 has the property "label"'):
        Workflow.from_dict({"name": "X", "nodes": [{"id": "a", "type": "manual", "label": "A"}], "edges": []})
    with pytest.raises(BuilderError, match='"name"'):
        Workflow.from_dict({"nodes": [], "edges": []})


# ---- references ----------------------------------------------------------------------------------


def test_references_format_as_the_server_parses_them() -> None:
    wf = Workflow("R")
    t = wf.node("manual", id="trigger")
    assert str(t["name"]) == "{{ trigger.name }}"
    assert f"{t['a']['b']}" == "{{ trigger.a.b }}"
    assert str(t["items"][0]["first name"]) == '{{ trigger.items[0]["first name"] }}'
    assert str(t["1x"]) == '{{ trigger["1x"] }}'
    assert str(t.output) == "{{ trigger }}"
    assert str(inputs["name"]) == "{{ inputs.name }}"
    assert str(env["OPENAI_API_KEY"]) == str(env.OPENAI_API_KEY) == "{{ env.OPENAI_API_KEY }}"
    assert repr(t["x"]) == "Ref('{{ trigger.x }}')"
    with pytest.raises(TypeError):
        env["A"]["b"]
    with pytest.raises(ValueError):
        env["not a name"]
    with pytest.raises(ValueError):
        t["items"][-1]
    with pytest.raises(TypeError):
        list(t)


def test_whole_value_references_stay_one_binding_and_strings_interpolate() -> None:
    wf = Workflow("R")
    t = wf.node("manual", id="trigger")
    n = wf.node("transform", id="n", value={"count": t["count"], "all": t, "text": f"n={t['count']}", "list": [t["a"][1], inputs["x"]]})
    assert n.settings == {
        "value": {"count": "{{ trigger.count }}", "all": "{{ trigger }}", "text": "n={{ trigger.count }}", "list": ["{{ trigger.a[1] }}", "{{ inputs.x }}"]}
    }


def test_edges_for_references_are_added_once_and_only_when_needed() -> None:
    wf = Workflow("E")
    t = wf.node("manual", id="trigger")
    a = wf.node("transform", id="a", value=[t["x"], t["y"], f"{t['z']}"])
    b = wf.node("transform", id="b", value={"from_a": a["v"], "from_t": t["x"]})  # t is upstream through a
    wf.node("return", id="out", value=[inputs["q"], env["HOME"]], after=b)
    assert [e.to_dict() for e in wf.edges] == [
        {"source": "trigger", "target": "a"},
        {"source": "a", "target": "b"},
        {"source": "b", "target": "out"},
    ]
    assert [e.auto for e in wf.edges] == [True, True, False]


def test_an_explicit_edge_made_later_replaces_the_reference_edge() -> None:
    wf = Workflow("E")
    t = wf.node("manual", id="trigger")
    c = wf.node("if", id="c", condition=f"{t['n']} > 1")
    r = wf.node("return", id="r", value=t["n"])  # would need trigger → r …
    assert [(e.source, e.target) for e in wf.edges] == [("trigger", "c"), ("trigger", "r")]
    wf.edge(c.handle("true"), r)  # … until r hangs off the branch, which brings trigger upstream
    assert [e.to_dict() for e in wf.edges] == [{"source": "trigger", "target": "c"}, {"source": "c", "sourceHandle": "true", "target": "r"}]


def test_no_edge_that_would_close_a_cycle_is_added() -> None:
    wf = Workflow("C")
    t = wf.node("manual", id="trigger")
    a = wf.node("transform", id="a", value=1, after=t)
    b = wf.node("transform", id="b", value=2, after=a)
    a.settings["value"] = b["x"]  # a reads b, but b is downstream of a
    assert [(e.source, e.target) for e in wf.edges] == [("trigger", "a"), ("a", "b")]


def test_references_put_into_settings_later_are_bindings_with_their_edges() -> None:
    wf = Workflow("L")
    t = wf.node("manual", id="trigger")
    out = wf.node("return", id="out")
    out.settings["value"] = {"name": t["name"], "all": [t]}
    assert wf.to_dict()["nodes"][1]["settings"] == {"value": {"name": "{{ trigger.name }}", "all": ["{{ trigger }}"]}}
    assert [(e.source, e.target) for e in wf.edges] == [("trigger", "out")]
    out.settings["value"] = {1, 2}
    with pytest.raises(BuilderError, match='setting "/value" holds a set') as raised:
        wf.to_dict()
    assert (raised.value.node_id, raised.value.setting) == ("out", "value")


def test_javascript_patterns_read_as_the_server_reads_them() -> None:
    from tensorify._schema import BINDING_PATTERN, js_regex

    binding = js_regex(BINDING_PATTERN)
    assert binding is not None
    assert binding.search("{{ trigger.lr }}") and binding.search(" {{ a }}\n") and binding.search("{{ a\nb }}")
    assert not binding.search("x {{ a }}") and not binding.search("{{ a }} x")
    end = js_regex("^a$")
    assert end is not None and end.search("a") and not end.search("a\n")  # JavaScript's $ is the very end
    digits = js_regex("^\\d+$")
    assert digits is not None and digits.search("42") and not digits.search("\u0664\u0662")  # Arabic-Indic digits are no \d in JavaScript
    assert js_regex("(?<name") is None  # what Python cannot compile is left to the server


def test_verbatim_settings_add_no_edges_when_the_catalogue_says_so(catalog: Catalog) -> None:
    code = 'return {"text": f"{{{{ x }}}}"}'  # Python's f-string braces, not a binding
    for wf in (Workflow("V", catalog=catalog),):
        t = wf.node("manual", id="trigger")
        wf.node("transform", id="x", value=1, after=t)
        wf.node("code", id="c", code=code, after=t)
        assert [(e.source, e.target) for e in wf.edges] == [("trigger", "x"), ("trigger", "c")]
        wf.check()


def test_edges_are_deduplicated_and_chain_links_nodes() -> None:
    wf = Workflow("D")
    a, b, c = wf.node("linear", id="a"), wf.node("relu", id="b"), wf.node("sequential", id="c")
    first = wf.edge(a, b)
    assert wf.edge("a", "b") is first
    wf.chain(a, b, c)
    assert [(e.source, e.target) for e in wf.edges] == [("a", "b"), ("b", "c")]


def test_generated_ids_follow_the_type_name() -> None:
    wf = Workflow("G")
    assert [wf.node("openai-chat").id, wf.node("openai-chat").id, wf.node("transform@1").id] == ["openai_chat", "openai_chat_2", "transform"]


def test_builder_mistakes_raise_at_once_naming_node_and_setting() -> None:
    wf = Workflow("M")
    t = wf.node("manual", id="trigger")
    with pytest.raises(BuilderError, match='Node id "Greeting" is not valid') as invalid:
        wf.node("transform", id="Greeting")
    assert invalid.value.node_id == "Greeting" and invalid.value.code == "INVALID_NODE_ID"
    with pytest.raises(BuilderError, match="reserved") as reserved:
        wf.node("transform", id="inputs")
    assert reserved.value.code == "RESERVED_NODE_ID"
    with pytest.raises(BuilderError, match=r'Node id "trigger" is used by more than one node \(at indexes 0 and 1\)'):
        wf.node("manual", id="trigger")
    with pytest.raises(BuilderError, match="not JSON") as not_json:
        wf.node("transform", id="s", value={"tags": {"a", "b"}})
    assert (not_json.value.node_id, not_json.value.setting) == ("s", "value")
    with pytest.raises(BuilderError, match="JSON cannot hold") as nan:
        wf.node("transform", id="s", value=float("nan"))
    assert nan.value.setting == "value"
    with pytest.raises(BuilderError, match="given twice"):
        wf.node("transform", id="s", settings={"value": 1}, value=2)
    other = Workflow("Other").node("manual", id="elsewhere")
    with pytest.raises(BuilderError, match="another workflow") as foreign:
        wf.node("transform", id="s", value=other["x"])
    assert foreign.value.node_id == "s"
    with pytest.raises(BuilderError, match='node "nowhere", which does not exist'):
        wf.edge(t, "nowhere")
    with pytest.raises(BuilderError, match="to itself"):
        wf.edge(t, t)
    assert [n.id for n in wf] == ["trigger"]  # nothing half-added


def test_isinstance_value_error() -> None:
    assert issubclass(BuilderError, ValueError)
    assert isinstance(Workflow("N").node("manual"), Node) and isinstance(Workflow("N").node("manual")["x"], Ref)


# ---- check() against the real catalogue ----------------------------------------------------------


def test_catalogue_attached_checks_nodes_and_edges_as_they_are_added(catalog: Catalog) -> None:
    wf = Workflow("K", catalog=catalog)
    t = wf.node("manual", id="trigger")
    with pytest.raises(BuilderError) as unknown:
        wf.node("transformer", id="x")
    assert str(unknown.value) == 'Node "x" has type "transformer", which is not in the node catalogue (GET /v1/nodes lists the types).'
    with pytest.raises(BuilderError) as setting:
        wf.node("optimizer-adam", id="opt", lr=-1)
    assert str(setting.value) == 'Node "opt": Setting "/lr" must be > 0 (or be a binding).'
    assert (setting.value.node_id, setting.value.setting, setting.value.code) == ("opt", "lr", "INVALID_SETTINGS")
    with pytest.raises(BuilderError) as missing:
        wf.node("transform", id="x")
    assert str(missing.value) == 'Node "x": Setting "/value" is required.'
    check = wf.node("if", id="check", condition=f"{t['n']} > 1")
    out = wf.node("return", id="out", value=1)
    with pytest.raises(BuilderError) as handle:
        wf.edge(check.handle("maybe"), out)
    assert str(handle.value) == 'Edge at index 1 leaves node "check" through output "maybe", but type "if" has the outputs "true", "false".'
    assert handle.value.code == "UNKNOWN_SOURCE_HANDLE" and handle.value.node_id == "check"
    with pytest.raises(BuilderError, match="without a sourceHandle"):
        wf.edge(check, out)
    wf.edge(check.handle("true"), out)
    wf.check()


def test_check_raises_the_servers_message_with_every_problem(catalog: Catalog) -> None:
    wf = Workflow("P")
    wf.node("manual", id="trigger")
    wf.node("transform", id="t", settings={"value": "{{ trigger.x }}", "valu": 1})
    wf.node("loss-cross-entropy", id="loss", labelSmoothing="x")
    with pytest.raises(BuilderError) as raised:
        wf.check(catalog)
    error = raised.value
    assert str(error) == 'The workflow is invalid (2 problems): Node "t": Setting "/valu" is not a setting of node type "transform" (known settings: "value").'
    assert (error.node_id, error.setting, error.code, error.path) == ("t", "valu", "INVALID_SETTINGS", "/nodes/1/settings/valu")
    assert [(problem.node_id, problem.setting, problem.message) for problem in error.problems] == [
        ("t", "valu", 'Node "t": Setting "/valu" is not a setting of node type "transform" (known settings: "value").'),
        ("loss", "labelSmoothing", 'Node "loss": Setting "/labelSmoothing" must be number.'),
    ]


def test_check_needs_a_catalogue() -> None:
    with pytest.raises(TypeError, match="GET /v1/nodes"):
        Workflow("N").check()


# ---- parity with the server ----------------------------------------------------------------------


def _mutate(name: str, change: Callable[[Dict[str, Any]], None]) -> Callable[[], Dict[str, Any]]:
    def make() -> Dict[str, Any]:
        body = copy.deepcopy(load_example(name))
        change(body)
        return body

    return make


def _node(body: Dict[str, Any], node_id: str) -> Dict[str, Any]:
    node: Dict[str, Any] = next(n for n in body["nodes"] if n["id"] == node_id)
    return node


def _set(name: str, node_id: str, **settings: Any) -> Callable[[], Dict[str, Any]]:
    return _mutate(name, lambda body: _node(body, node_id)["settings"].update(settings))


def _graph(nodes: List[Dict[str, Any]], edges: List[Dict[str, Any]]) -> Callable[[], Dict[str, Any]]:
    return lambda: {"name": "Case", "nodes": nodes, "edges": edges}


def _add_dropout(body: Dict[str, Any]) -> None:
    """fc1 → act → drop → fc2, with a dropout probability of 1 (which must be < 1)."""
    body["nodes"].insert(5, {"id": "drop", "type": "dropout", "settings": {"p": 1}})
    edge = next(e for e in body["edges"] if e["source"] == "act")
    edge["target"] = "drop"
    body["edges"].insert(body["edges"].index(edge) + 1, {"source": "drop", "target": "fc2"})


T = {"id": "trigger", "type": "manual", "settings": {}}


def _transform(node_id: str, value: Any) -> Dict[str, Any]:
    return {"id": node_id, "type": "transform", "settings": {"value": value}}


BAD_CONDITIONS = [
    "",
    "   ",
    "{{ score.total }} > 10 > 5",
    "{{ score.total }} = 10",
    "{{ score.total }} && true",
    "{{ score.total }} > 1 or True",
    "{{ score.total }} is null",
    "total > 1",
    "({{ score.total }} > 2",
    "{{ score.total }} > 2)",
    "not",
    "1 > not 2",
    "01 > 1",
    "1. > 2",
    "1e999 > 1",
    "'abc",
    '"a\\qb" == {{ score.total }}',
    '"a\\u12" == 1',
    '"tab\there" == 1',
    "{ score.total } > 1",
    "{{ score. }} > 1",
    "{{ score.total }} 2",
    "# comment",
    "(" * 65 + "true" + ")" * 65,
    "{{ score.count }} <= 3 and not ({{ inputs.mode }} == 'it\\'s' or {{ ghost.x }} != null)",
    "x" * 100,
]


BAD_INPUT_SCHEMAS: List[Any] = [
    {"type": "strin"},
    {"type": 5},
    {"type": ["string", "string"]},
    {"type": []},
    {"minLength": -1},
    {"maxLength": 1.5},
    {"multipleOf": 0},
    {"properties": {"a": {"type": "nope"}}},
    {"items": 5},
    {"items": {"type": "nope"}},
    {"items": [{"minimum": "1"}, True, 3]},
    {"required": "a"},
    {"required": ["a", "a"]},
    {"enum": []},
    {"enum": [1, {"a": [1]}, {"a": [1]}]},
    {"allOf": []},
    {"dependencies": {"a": 5, "b": ["x", "x"]}},
    {"definitions": {"x": {"minimum": "1"}}, "not": {"uniqueItems": "yes"}},
    [],
    True,
    {"title": 5, "description": None, "$comment": ["x"], "readOnly": "no", "examples": 5},
]


def _input_schemas() -> Dict[str, Any]:
    nodes = [{"id": f"m{index}", "type": "manual", "settings": {"inputSchema": schema}} for index, schema in enumerate(BAD_INPUT_SCHEMAS)]
    return {"name": "Input schemas", "nodes": nodes, "edges": []}


def _conditions() -> Dict[str, Any]:
    nodes = [T, {"id": "score", "type": "code", "settings": {"code": "return {}"}}]
    edges = [{"source": "trigger", "target": "score"}]
    for index, condition in enumerate(BAD_CONDITIONS):
        nodes.append({"id": f"c{index}", "type": "if", "settings": {"condition": condition}})
        edges.append({"source": "score", "target": f"c{index}"})
    return {"name": "Conditions", "nodes": nodes, "edges": edges}


PARITY_CASES: List[Tuple[str, Callable[[], Dict[str, Any]]]] = [
    ("unknown type", _mutate("hello", lambda b: _node(b, "greeting").update(type="transformer"))),
    ("wrong pin", _mutate("hello", lambda b: _node(b, "greeting").update(type="transform@2"))),
    ("unknown setting", _set("hello", "greeting", valu=1)),
    ("missing required", _mutate("hello", lambda b: _node(b, "greeting").update(settings={}))),
    ("wrong type: integer", _set("classifier", "loader", batchSize="32")),
    ("wrong type: boolean", _set("classifier", "loader", shuffle="yes")),
    ("integer given a fraction under its minimum", _set("classifier", "data", samples=-0.5)),
    ("minimum", _set("classifier", "data", classes=1)),
    ("maximum", _set("classifier", "loader", numWorkers=65)),
    ("anyOf: below the number's minimum", _set("classifier", "opt", lr=0)),
    ("anyOf: a string that is no binding", _set("classifier", "opt", lr="fast")),
    ("anyOf: a boolean", _set("classifier", "train", epochs=True)),
    ("anyOf: an integer branch given a fraction", _set("classifier", "train", epochs=2.5)),
    ("type list", _set("summarize", "llm", temperature="warm")),
    ("type list and maximum", _set("summarize", "llm", temperature=3, maxTokens=0.5)),
    ("minLength and maxLength", _set("summarize", "llm", model="", prompt="x" * 100001)),
    ("enum", _mutate("hello", lambda b: _node(b, "greeting").update(type="http-request", settings={"url": "http://x", "method": "FETCH"}))),
    ("nested additionalProperties schema", _mutate("hello", lambda b: _node(b, "greeting").update(type="http-request", settings={"url": "u", "headers": {"A": {"b": 1}, "B": True}}))),
    ("exclusive bounds", _mutate("classifier", _add_dropout)),
    ("items, minItems and maxItems", _set("classifier", "data", imageShape=[1, "8", 0, 4])),
    ("uniqueItems", _mutate("hello", lambda b: _node(b, "greeting").update(type="dataset-csv", settings={"path": "a.csv", "targetColumn": "y", "featureColumns": ["a", "b", "a"]}))),
    ("settings keys in JavaScript's order", _set("hello", "greeting", **{"zeta": 1, "10": 2, "2": 3})),
    ("no trigger", _mutate("hello", lambda b: _node(b, "trigger").update(type="transform", settings={"value": 1}))),
    ("two triggers", _mutate("hello", lambda b: b["nodes"].append({"id": "again", "type": "manual", "settings": {}}))),
    ("edge to unknown nodes", _mutate("hello", lambda b: b["edges"].extend([{"source": "ghost", "target": "out"}, {"id": "e9", "source": "out", "target": "nowhere"}, {"source": "a", "target": "b"}]))),
    ("unknown and ambiguous handles", _mutate("code-branch", lambda b: b["edges"].extend([{"source": "check", "sourceHandle": "maybe", "target": "big"}, {"source": "check", "target": "small"}, {"source": "big", "target": "small"}]))),
    ("unknown target handle", _mutate("classifier", lambda b: b["edges"].append({"source": "loader", "target": "train", "targetHandle": "batches"}))),
    ("self loop and duplicate edge ids", _mutate("hello", lambda b: b["edges"].extend([{"id": "x", "source": "greeting", "target": "greeting"}, {"id": "x", "source": "trigger", "target": "out"}]))),
    ("cycle", _mutate("hello", lambda b: b["edges"].append({"source": "out", "target": "trigger"}))),
    (
        "long cycle",
        _graph(
            [T, *[_transform(f"n{i}", i) for i in range(10)]],
            [{"source": "trigger", "target": "n0"}, *[{"source": f"n{i}", "target": f"n{(i + 1) % 10}"} for i in range(10)]],
        ),
    ),
    ("node ids", _mutate("hello", lambda b: b["nodes"].extend([_transform("Bad-Id", 1), _transform("env", 2), _transform("greeting", 3), _transform("9lives", 4)]))),
    (
        "binding syntax",
        _set(
            "hello",
            "greeting",
            value=["{{ }}", "{{ trigger. }}", "{{ trigger[x] }}", "{{ trigger.a b }}", "{{ 1x }}", "{{ trigger", '{{ "bad\\q" }}', '{{ trigger["k }}', "{{ env.A.B }}", "{{ trigger[99999999999999999999] }}"],
        ),
    ),
    ("bindings that do not resolve", _set("hello", "out", value={"a": "{{ ghost.x }}", "b": "{{ out.x }}", "c": "{{ nobody }} and {{ trigger.name }}"})),
    ("binding to a node that is not upstream", _mutate("hello", lambda b: b["nodes"].append(_transform("side", "{{ out.result }} {{ greeting.message }}")) or b["edges"].append({"source": "trigger", "target": "side"}))),
    ("binding to a layer", _set("classifier", "out", value={"w": "{{ fc1.weight }}"})),
    ("condition bindings", _set("code-branch", "check", condition='{{ score.total }} > 10 and {{ ghost.x }} == "{{ not.a.binding }}"')),
    ("conditions that do not parse", _conditions),
    ("input schemas checked against the JSON Schema meta-schema", _input_schemas),
    ("nested keys in JavaScript's order", _set("hello", "out", value={"b": "{{ x1.a }}", "1": "{{ x2.a }}", "0": ["{{ x3.a }}"]})),
    ("a layer in no model", _mutate("classifier", lambda b: b["nodes"].insert(5, {"id": "drop", "type": "dropout", "settings": {}}))),
    ("a missing typed input", _mutate("classifier", lambda b: b["edges"].remove({"source": "loader", "target": "train", "targetHandle": "data"}))),
    (
        "too many typed inputs",
        _mutate(
            "classifier",
            lambda b: b["nodes"].insert(3, {"id": "loader2", "type": "dataloader", "settings": {}})
            or b["edges"].extend([{"source": "data", "target": "loader2"}, {"source": "loader2", "target": "train", "targetHandle": "data"}]),
        ),
    ),
    ("an input of another data type", _mutate("classifier", lambda b: b["edges"].append({"source": "opt", "target": "eval", "targetHandle": "data"}))),
    (
        "broken layer chains",
        _mutate(
            "classifier",
            lambda b: b["nodes"].extend([{"id": "lonely", "type": "sequential", "settings": {}}, {"id": "extra", "type": "tanh", "settings": {}}])
            or b["edges"].extend([{"source": "fc1", "target": "extra"}, {"source": "act", "target": "opt"}, {"source": "extra", "target": "model"}]),
        ),
    ),
    (
        "many problems on many nodes",
        _graph(
            [T, _transform("b", "{{ c.x }}"), {"id": "c", "type": "nope", "settings": {}}, {"id": "trigger", "type": "manual", "settings": {"inputSchemas": {}}}],
            [{"source": "c", "target": "b", "targetHandle": "x"}, {"source": "b", "target": "b"}, {"source": "b", "target": "zz"}],
        ),
    ),
]


@pytest.mark.parametrize("case", [make for _, make in PARITY_CASES], ids=[name for name, _ in PARITY_CASES])
def test_check_finds_what_the_server_finds(case: Callable[[], Dict[str, Any]], server: Server, catalog: Catalog) -> None:
    body = case()
    workflow = Workflow.from_dict(body)
    status, answer = server.request("POST", "/workflows/validate", body)
    assert status == 200, answer
    assert answer["valid"] is False, "each case is a workflow the server refuses"
    assert workflow.report(catalog).to_dict() == answer

    status, refused = server.request("POST", "/workflows", body)
    assert status == 400 and refused["error"]["code"] == "INVALID_WORKFLOW", refused
    with pytest.raises(BuilderError) as raised:
        workflow.check(catalog)
    assert str(raised.value) == refused["error"]["message"]
    assert raised.value.details == refused["error"]["details"]
    first = raised.value.problems[0]
    assert raised.value.node_id == first.node_id and raised.value.setting == first.setting


def test_a_new_node_type_needs_no_sdk_release(catalog_payload: Dict[str, Any]) -> None:
    """Everything comes from the catalogue: a type the SDK has never seen is checked from its entry."""
    payload = copy.deepcopy(catalog_payload)
    payload["nodes"].append(
        {
            "type": "resize-image",
            "version": "2.1.0",
            "trigger": False,
            "inputs": [{"id": "in", "dataType": "any", "description": "d"}],
            "outputs": [{"id": "small", "dataType": "object", "description": "d"}, {"id": "large", "dataType": "object", "description": "d"}],
            "settingsSchema": {
                "type": "object",
                "properties": {"width": {"description": "w", "type": "integer", "multipleOf": 8, "minimum": 8}, "mode": {"description": "m", "const": "fit"}},
                "required": ["width"],
                "additionalProperties": False,
            },
            "defaults": {"mode": "fit"},
        }
    )
    wf = Workflow("New", catalog=payload)
    t = wf.node("manual", id="trigger")
    with pytest.raises(BuilderError, match='Setting "/width" must be multiple of 8'):
        wf.node("resize-image@2", id="r", after=t, width=12)
    with pytest.raises(BuilderError, match='Node "r": Setting "/mode" must be equal to constant.'):
        wf.node("resize-image@2", id="r", after=t, width=16, mode="fill")
    with pytest.raises(BuilderError, match='pins type "resize-image@1", but the catalogue has "resize-image" version 2.1.0'):
        wf.node("resize-image@1", id="r", width=16)
    r = wf.node("resize-image@2", id="r", after=t, width=16)
    wf.node("return", id="out", after=r.handle("large"), value=r["url"])
    wf.check()
