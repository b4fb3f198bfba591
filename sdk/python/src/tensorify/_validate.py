"""
The server's graph checks (``src/graph/graph-validator.ts``), run on a workflow body before it is
sent, with the server's codes, messages, JSON pointers and order of problems.

Checked here: node ids (pattern, reserved, duplicates), node types (unknown, wrong pin), settings
against each type's JSON Schema, exactly one trigger, edges (ids, unknown nodes, handles, self
loops), cycles, bindings (syntax, unknown/own/layer nodes, not upstream), conditions (INVALID_EXPRESSION), and the typed inputs
and layer chains of the PyTorch node types (MISSING_INPUT, TOO_MANY_INPUTS, INPUT_TYPE_MISMATCH,
LAYER_CHAIN), all from the catalogue's ports, data types and roles. Left to the server: tensor shapes (SHAPE_MISMATCH: its rules are
server code that the catalogue only names), TOO_MANY_BRANCH_PATHS (found while compiling), and
the JSON Schema keywords that _schema.py skips: a workflow with those passes here and the
server's 400 names them.
"""

from __future__ import annotations

import heapq
import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

from ._bindings import ENV_NAMESPACE, INPUTS_NAMESPACE, Binding, condition_bindings, find_bindings
from ._catalog import Catalog, NodeType, Port
from ._condition import parse_condition

NODE_ID_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,63}")
RESERVED_NODE_IDS = frozenset({INPUTS_NAMESPACE, ENV_NAMESPACE})
_MAX_CYCLE_IDS_SHOWN = 8


@dataclass(frozen=True)
class Problem:
    """One problem of a workflow, as the server reports it in ``details.nodes`` / ``details.graph``."""

    #: The node it is filed under (an edge's problems sit on its source node, else its target); None at graph level.
    node_id: Optional[str]
    code: str
    message: str
    #: JSON pointer into the workflow body, e.g. ``/nodes/2/settings/prompt``.
    path: Optional[str] = None
    #: The edge's id, or its index in ``edges`` when it has none.
    edge: Optional[Union[int, str]] = None

    @property
    def setting(self) -> Optional[str]:
        """The name of the setting the problem is about, when it is about one."""
        match = re.match(r"^/nodes/\d+/settings/([^/]+)", self.path or "")
        return match.group(1).replace("~1", "/").replace("~0", "~") if match else None

    def to_dict(self) -> Dict[str, Any]:
        """The problem as the server's JSON has it."""
        out: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.path is not None:
            out["path"] = self.path
        if self.edge is not None:
            out["edge"] = self.edge
        return out


def invalid_node_id_message(node_id: str) -> Optional[Tuple[str, str]]:
    """The code and message of a node id the server refuses, or None."""
    if not NODE_ID_PATTERN.fullmatch(node_id):
        return (
            "INVALID_NODE_ID",
            f'Node id "{node_id}" is not valid: use 1 to 64 lowercase letters, digits and underscores, not starting with a digit.',
        )
    if node_id in RESERVED_NODE_IDS:
        return (
            "RESERVED_NODE_ID",
            f'Node id "{node_id}" is reserved for the bindings {{{{ {INPUTS_NAMESPACE}.… }}}} and {{{{ {ENV_NAMESPACE}.… }}}}; choose another id.',
        )
    return None


class Report:
    """Every problem of a workflow, grouped as the server groups them."""

    def __init__(self) -> None:
        self.by_node: Dict[str, List[Problem]] = {}
        self.graph: List[Problem] = []

    def add(self, problem: Problem) -> None:
        if problem.node_id is None:
            self.graph.append(problem)
        else:
            self.by_node.setdefault(problem.node_id, []).append(problem)

    @property
    def valid(self) -> bool:
        return not self.by_node and not self.graph

    @property
    def problems(self) -> List[Problem]:
        """Graph-level problems first, then node by node: the order of the server's message and details."""
        return [*self.graph, *(problem for problems in self.by_node.values() for problem in problems)]

    def to_dict(self) -> Dict[str, Any]:
        """What ``POST /v1/workflows/validate`` answers: ``{valid, errors: {nodes, graph}}``."""
        return {
            "valid": self.valid,
            "errors": {
                "nodes": {node_id: [problem.to_dict() for problem in problems] for node_id, problems in self.by_node.items()},
                "graph": [problem.to_dict() for problem in self.graph],
            },
        }

    def message(self) -> str:
        """The message of the server's 400 INVALID_WORKFLOW for these problems."""
        problems = self.problems
        count = len(problems)
        first = problems[0].message if problems else ""
        return f"The workflow is invalid ({count} problem{'' if count == 1 else 's'}): {first}"


def validate(body: Mapping[str, Any], catalog: Catalog) -> Report:
    """Checks a workflow body (``nodes`` and ``edges`` as the API takes them) against a catalogue."""
    return _Validation(catalog, body).run()


_Side = Tuple[str, str, str, str]  # field, noun, verb, unknown code
_SOURCE: _Side = ("sourceHandle", "output", "leaves", "UNKNOWN_SOURCE_HANDLE")
_TARGET: _Side = ("targetHandle", "input", "enters", "UNKNOWN_TARGET_HANDLE")


class _Validation:
    def __init__(self, catalog: Catalog, body: Mapping[str, Any]) -> None:
        self.catalog = catalog
        self.report = Report()
        self.nodes: Sequence[Mapping[str, Any]] = body.get("nodes") or []
        self.edges: Sequence[Mapping[str, Any]] = body.get("edges") or []
        self.index_by_id: Dict[str, int] = {}
        self.edge_index_by_id: Dict[str, int] = {}
        self.definitions: List[Optional[NodeType]] = []
        self.successors: List[List[int]] = [[] for _ in self.nodes]

    def run(self) -> Report:
        for index, node in enumerate(self.nodes):
            self.check_node(node, index)
        self.check_trigger_count()
        for index, edge in enumerate(self.edges):
            self.check_edge(edge, index)
        self.check_cycles()
        self.check_bindings()
        if all(definition is not None for definition in self.definitions):
            _Dataflow(self, [definition for definition in self.definitions if definition is not None]).run()
        return self.report

    def check_node(self, node: Mapping[str, Any], index: int) -> None:
        node_id = str(node.get("id"))
        path = f"/nodes/{index}"

        def report(code: str, message: str, field: str) -> None:
            self.report.add(Problem(node_id, code, message, f"{path}/{field}"))

        invalid = invalid_node_id_message(node_id)
        if invalid is not None:
            report(invalid[0], invalid[1], "id")
        first = self.index_by_id.get(node_id)
        if first is None:
            self.index_by_id[node_id] = index
        else:
            report(
                "DUPLICATE_NODE_ID",
                f'Node id "{node_id}" is used by more than one node (at indexes {first} and {index}); give each node its own id.',
                "id",
            )
        type_ref = str(node.get("type"))
        definition = self.catalog.resolve(type_ref)
        self.definitions.append(definition)
        if definition is None:
            report("UNKNOWN_NODE_TYPE", self.catalog.describe_unknown(node_id, type_ref), "type")
            return
        for problem in definition.validate_settings(node.get("settings") or {}):
            report("INVALID_SETTINGS", f'Node "{node_id}": {problem.message}', f"settings{problem.path}")

    def check_trigger_count(self) -> None:
        triggers = [node for index, node in enumerate(self.nodes) if (self.definitions[index] or _NO_TYPE).trigger]
        if len(triggers) == 1:
            return
        if not triggers:
            types = ", ".join(f'"{t.type}"' for t in self.catalog.list() if t.trigger)
            message = f"The workflow has no trigger node; add exactly one node of a trigger type ({types})."
        else:
            ids = ", ".join(f'"{node.get("id")}"' for node in triggers)
            message = f"The workflow has {len(triggers)} trigger nodes ({ids}); keep exactly one."
        self.report.add(Problem(None, "TRIGGER_COUNT", message))

    def check_edge(self, edge: Mapping[str, Any], index: int) -> None:
        edge_id = edge.get("id")
        source, target = str(edge.get("source")), str(edge.get("target"))
        label = f"Edge at index {index}" if edge_id is None else f'Edge "{edge_id}"'
        source_index = self.index_by_id.get(source)
        target_index = self.index_by_id.get(target)
        owner = source if source_index is not None else target if target_index is not None else None

        def report(code: str, message: str, field: Optional[str] = None) -> None:
            path = f"/edges/{index}" if field is None else f"/edges/{index}/{field}"
            self.report.add(Problem(owner, code, message, path, edge_id if edge_id is not None else index))

        if edge_id is not None:
            first = self.edge_index_by_id.get(edge_id)
            if first is None:
                self.edge_index_by_id[edge_id] = index
            else:
                message = f'Edge id "{edge_id}" is used by more than one edge (at indexes {first} and {index}); give each edge its own id.'
                report("DUPLICATE_EDGE_ID", message, "id")
        if source_index is None:
            report("UNKNOWN_EDGE_SOURCE", f'{label} starts at node "{source}", which does not exist.', "source")
        if target_index is None:
            report("UNKNOWN_EDGE_TARGET", f'{label} ends at node "{target}", which does not exist.', "target")
        if source_index is not None:
            self.check_handle(_SOURCE, edge, source, source_index, label, report)
        if target_index is not None:
            self.check_handle(_TARGET, edge, target, target_index, label, report)
        if source_index is None or target_index is None:
            return
        if source_index == target_index:
            report("SELF_LOOP", f'{label} connects node "{source}" to itself; a node cannot feed its own input.')
            return
        self.successors[source_index].append(target_index)

    def check_handle(self, side: _Side, edge: Mapping[str, Any], node_id: str, node_index: int, label: str, report: Any) -> None:
        definition = self.definitions[node_index]
        if definition is None:
            return
        field, noun, verb, unknown_code = side
        ports: Sequence[Port] = definition.outputs if noun == "output" else definition.inputs
        handle = edge.get(field)
        passage = f'{label} {verb} node "{node_id}"'
        listed = f"has no {noun}s" if not ports else f"has the {noun}s {_quote_all(port.id for port in ports)}"
        ports_of_type = f'type "{definition.type}" {listed}'
        if handle is not None:
            if not any(port.id == handle for port in ports):
                report(unknown_code, f'{passage} through {noun} "{handle}", but {ports_of_type}.', field)
        elif not ports:
            report("AMBIGUOUS_HANDLE", f"{passage}, but {ports_of_type}.", field)
        elif len(ports) > 1:
            report("AMBIGUOUS_HANDLE", f"{passage} without a {field}, but {ports_of_type}; set {field} to one of them.", field)

    def check_cycles(self) -> None:
        for index in _kahn_unordered(self.successors):
            cycle = _shortest_cycle_through(self.successors, index)
            if cycle is None:
                continue
            node_id = str(self.nodes[index].get("id"))
            path = _describe_cycle([str(self.nodes[member].get("id")) for member in cycle])
            message = f'Node "{node_id}" is on a cycle: {path}. Remove one of its edges.'
            self.report.add(Problem(node_id, "CYCLE", message, f"/nodes/{index}"))

    def check_bindings(self) -> None:
        awaiting: List[Tuple[int, int, str, str, str, str]] = []
        for node_index, node in enumerate(self.nodes):
            node_id = str(node.get("id"))
            settings = node.get("settings") or {}
            definition = self.definitions[node_index]
            plain = find_bindings(bindable_settings(settings, definition))
            conditions, condition_errors = parsed_conditions(settings, definition)
            settings_path = f"/nodes/{node_index}/settings"
            for error in plain.errors:
                self.report.add(Problem(node_id, "INVALID_BINDING", error.message, settings_path + error.pointer))
            for pointer, message in condition_errors:
                self.report.add(Problem(node_id, "INVALID_EXPRESSION", message, settings_path + pointer))
            for binding in [*plain.bindings, *conditions]:
                if binding.kind != "node":
                    continue
                path = settings_path + binding.pointer
                bound_index = self.index_by_id.get(binding.name)
                if bound_index is None:
                    message = (
                        f'Binding "{binding.raw}" names node "{binding.name}", which does not exist; '
                        f'a binding starts with a node id, "{INPUTS_NAMESPACE}" or "{ENV_NAMESPACE}".'
                    )
                    self.report.add(Problem(node_id, "UNRESOLVED_BINDING", message, path))
                elif binding.name == node_id:
                    message = f'Binding "{binding.raw}" names node "{node_id}" itself; a node can only read the outputs of its upstream nodes.'
                    self.report.add(Problem(node_id, "UNRESOLVED_BINDING", message, path))
                elif (self.definitions[bound_index] or _NO_TYPE).role == "layer":
                    message = (
                        f'Binding "{binding.raw}" names layer "{binding.name}", which has no output of its own: '
                        "it is part of the model its sequential node builds."
                    )
                    self.report.add(Problem(node_id, "UNRESOLVED_BINDING", message, path))
                else:
                    awaiting.append((bound_index, self.index_by_id[node_id], node_id, binding.name, binding.raw, path))
        for bound_index, target_index, node_id, bound_id, raw, path in awaiting:
            if _reaches(self.successors, bound_index, target_index):
                continue
            message = (
                f'Binding "{raw}" names node "{bound_id}", which is not upstream of "{node_id}"; '
                f'connect "{bound_id}" to "{node_id}" through edges, or remove the binding.'
            )
            self.report.add(Problem(node_id, "UNRESOLVED_BINDING", message, path))


_ANY = "any"
_LAYER = "layer"


def _port_of(ports: Sequence[Port], handle: Any) -> Optional[Port]:
    """The port an edge names, else the type's only one."""
    if handle is not None:
        return next((port for port in ports if port.id == handle), None)
    return ports[0] if len(ports) == 1 else None


def _carries_value(source: Port, target: Port) -> bool:
    """Same data type, or either side ``any`` (layers chain only into layer inputs); other edges only order the run."""
    if source.data_type == _LAYER or target.data_type == _LAYER:
        return source.data_type == target.data_type
    return source.data_type == target.data_type or _ANY in (source.data_type, target.data_type)


class _Dataflow:
    """The server's typed-input and layer-chain checks (``src/graph/dataflow.ts``), without tensor shapes."""

    def __init__(self, validation: _Validation, definitions: List[NodeType]) -> None:
        self.validation = validation
        self.definitions = definitions
        self.nodes = validation.nodes
        self.seen: Set[str] = set()
        # Per node, per input port id: (edge index, source index) of the edges bringing it a value.
        self.values: List[Dict[str, List[Tuple[int, int]]]] = [{} for _ in self.nodes]
        # Per node: (edge index, target index, from port, to port) of the edges leaving it.
        self.outgoing: List[List[Tuple[int, int, Port, Port]]] = [[] for _ in self.nodes]
        for edge_index, edge in enumerate(validation.edges):
            source = validation.index_by_id.get(str(edge.get("source")))
            target = validation.index_by_id.get(str(edge.get("target")))
            if source is None or target is None or source == target:
                continue
            from_port = _port_of(definitions[source].outputs, edge.get("sourceHandle"))
            to_port = _port_of(definitions[target].inputs, edge.get("targetHandle"))
            if from_port is None or to_port is None:
                continue
            self.outgoing[source].append((edge_index, target, from_port, to_port))
            if _carries_value(from_port, to_port):
                self.values[target].setdefault(to_port.id, []).append((edge_index, source))

    def run(self) -> None:
        for index in range(len(self.nodes)):
            self.check_inputs(index)
        for index in range(len(self.nodes)):
            self.check_chain_links(index)

    def id(self, index: int) -> str:
        return str(self.nodes[index].get("id"))

    def add(self, index: int, code: str, message: str, path: Optional[str] = None) -> None:
        key = f"{self.id(index)}\u0000{message}"
        if key in self.seen:
            return
        self.seen.add(key)
        self.validation.report.add(Problem(self.id(index), code, message, path if path is not None else f"/nodes/{index}"))

    def producers(self, data_type: str) -> List[str]:
        return [t.type for t in self.validation.catalog.list() if t.role != _LAYER and any(port.data_type == data_type for port in t.outputs)]

    def check_inputs(self, index: int) -> None:
        definition = self.definitions[index]
        for port in (port for port in definition.inputs if port.id in definition.parameters):
            if port.data_type == _ANY:
                continue
            sources = self.values[index].get(port.id, [])
            if not sources:
                message = f'Node "{self.id(index)}" has no {port.data_type} on its input "{port.id}": connect a node that gives one{_suggest(self.producers(port.data_type))}.'
                self.add(index, "MISSING_INPUT", message)
            elif len(sources) > 1:
                names = ", ".join(f'"{self.id(source)}"' for _, source in sources)
                message = f'Node "{self.id(index)}" receives a {port.data_type} on its input "{port.id}" from {len(sources)} nodes ({names}); keep one of those edges.'
                self.add(index, "TOO_MANY_INPUTS", message)
        for edge_index, target, from_port, to_port in self.outgoing[index]:
            explicit = self.validation.edges[edge_index].get("targetHandle") is not None
            if _LAYER in (from_port.data_type, to_port.data_type) or not explicit or _carries_value(from_port, to_port):
                continue
            message = (
                f'Edge at index {edge_index} brings a {from_port.data_type} from "{self.id(index)}" into input "{to_port.id}" '
                f'of "{self.id(target)}", which takes a {to_port.data_type}.'
            )
            self.add(index, "INPUT_TYPE_MISMATCH", message, f"/edges/{edge_index}")

    def check_chain_links(self, index: int) -> None:
        definition = self.definitions[index]
        if definition.role not in (_LAYER, "sequence") or not definition.inputs:
            return
        layers = self.values[index].get(definition.inputs[0].id, [])
        if len(layers) > 1:
            names = ", ".join(f'"{self.id(source)}"' for _, source in layers)
            self.add(index, "LAYER_CHAIN", f'Node "{self.id(index)}" receives layers from {len(layers)} nodes ({names}); chain layers one after another.')
        if definition.role == "sequence":
            if not layers:
                self.add(index, "LAYER_CHAIN", f'Sequential node "{self.id(index)}" has no layers: chain layer nodes (linear, relu…) into its input.')
            return
        out = self.outgoing[index]
        chained = [link for link in out if link[2].data_type == _LAYER and link[3].data_type == _LAYER]
        for _, target, _, to_port in (link for link in out if not any(link is other for other in chained)):
            self.add(
                index,
                "LAYER_CHAIN",
                f'Layer "{self.id(index)}" connects to input "{to_port.id}" of "{self.id(target)}", which does not take layers; '
                "a layer connects only to the next layer or to a sequential node.",
            )
        if not chained:
            self.add(index, "LAYER_CHAIN", f'Layer "{self.id(index)}" is not part of a model: connect it, or the chain it ends, to a sequential node.')
        elif len(chained) > 1:
            names = ", ".join(f'"{self.id(target)}"' for _, target, _, _ in chained)
            self.add(index, "LAYER_CHAIN", f'Layer "{self.id(index)}" feeds {len(chained)} nodes ({names}); a layer belongs to one chain.')


def _suggest(types: List[str]) -> str:
    if not types:
        return ""
    quoted = [f'"{t}"' for t in types]
    return f" (a node of type {quoted[0] if len(quoted) == 1 else ', '.join(quoted[:-1]) + ' or ' + quoted[-1]})"


_NO_TYPE = NodeType("", "0.0.0", False, (), (), {}, {}, (), (), "step", {})


def bindable_settings(settings: Mapping[str, Any], definition: Optional[NodeType]) -> Mapping[str, Any]:
    """The settings that hold bindings in their strings: all but those taken verbatim or parsed as conditions."""
    if definition is None:
        return settings
    excluded = set(definition.verbatim_settings) | set(definition.expression_settings)
    return {key: value for key, value in settings.items() if key not in excluded} if excluded else settings


def parsed_conditions(settings: Mapping[str, Any], definition: Optional[NodeType]) -> Tuple[List[Binding], List[Tuple[str, str]]]:
    """The bindings of a node's condition settings, and (pointer, message) for each condition that does not parse."""
    found: List[Binding] = []
    errors: List[Tuple[str, str]] = []
    for name in definition.expression_settings if definition is not None else ():
        text = settings.get(name)
        if not isinstance(text, str):
            continue
        pointer = f"/{name}"
        parsed = parse_condition(text)
        if parsed.error is None:
            found.extend(replace(binding, pointer=pointer) for binding in parsed.bindings)
        else:
            errors.append((pointer, parsed.error))
    return found, errors


def expression_bindings(settings: Mapping[str, Any], definition: Optional[NodeType]) -> List[Binding]:
    """The bindings of a node's condition settings, also of one that does not parse (for the edges they need)."""
    found: List[Binding] = []
    for name in definition.expression_settings if definition is not None else ():
        text = settings.get(name)
        if isinstance(text, str):
            found.extend(condition_bindings(text, f"/{name}"))
    return found





def _kahn_unordered(successors: Sequence[Sequence[int]]) -> List[int]:
    """The nodes Kahn's algorithm leaves: on a cycle or downstream of one, by index."""
    in_degree = [0] * len(successors)
    for targets in successors:
        for target in targets:
            in_degree[target] += 1
    ready = [index for index, degree in enumerate(in_degree) if degree == 0]
    heapq.heapify(ready)
    while ready:
        index = heapq.heappop(ready)
        for target in successors[index]:
            in_degree[target] -= 1
            if in_degree[target] == 0:
                heapq.heappush(ready, target)
    return [index for index, degree in enumerate(in_degree) if degree > 0]


def _shortest_cycle_through(successors: Sequence[Sequence[int]], start: int) -> Optional[List[int]]:
    """A shortest cycle from ``start`` back to itself (breadth first, edges in order), or None."""
    parent: Dict[int, int] = {}
    seen = {start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for following in successors[current]:
            if following == start:
                path = [current]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1]
            if following in seen:
                continue
            seen.add(following)
            parent[following] = current
            queue.append(following)
    return None


def _reaches(successors: Sequence[Sequence[int]], source: int, target: int) -> bool:
    """Whether a path of one or more edges leads from ``source`` to ``target``."""
    seen = set()
    stack = list(successors[source])
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(successors[current])
    return False


def _describe_cycle(ids: List[str]) -> str:
    hidden = len(ids) - _MAX_CYCLE_IDS_SHOWN
    shown = [*ids[:_MAX_CYCLE_IDS_SHOWN], f"… ({hidden} more)"] if hidden > 0 else ids
    return " → ".join([*shown, ids[0]])


def _quote_all(values: Any) -> str:
    return ", ".join(f'"{value}"' for value in values)
