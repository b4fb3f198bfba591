"""
Write a Tensorify workflow as Python.

::

    from tensorify import Workflow

    wf = Workflow("Hello")
    trigger = wf.node("manual", id="trigger")
    greeting = wf.node("transform", id="greeting", value={"message": f"Hello, {trigger['name']}!"})
    wf.node("return", id="out", value={"result": greeting["message"]})
    wf.to_dict()  # the body of POST /v1/workflows

``trigger['name']`` is a :class:`Ref`: in a string it reads ``{{ trigger.name }}``, as a whole
setting it stays one binding (which keeps the bound value's type), and the edge from ``trigger``
into the node that uses it is added for you unless ``trigger`` is already upstream.
:meth:`Workflow.check` runs the server's checks against its node catalogue (``GET /v1/nodes``)
and raises :class:`BuilderError` with the server's own messages before anything is sent.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Dict, FrozenSet, Iterator, List, Mapping, NoReturn, Optional, Sequence, Tuple, Union

from ._bindings import ENV_NAMESPACE, INPUTS_NAMESPACE, Segment, escape_pointer, find_bindings, format_path, json_copy
from ._catalog import Catalog, CatalogLike, NodeType, Port
from ._validate import Problem, Report, bindable_settings, expression_bindings, invalid_node_id_message, validate

__all__ = [
    "BuilderError",
    "Catalog",
    "Edge",
    "Handle",
    "Node",
    "NodeType",
    "Port",
    "Problem",
    "Ref",
    "Workflow",
    "env",
    "inputs",
]


class BuilderError(ValueError):
    """
    A mistake in a workflow, found before any request. The message is the server's own for it;
    ``node_id`` and ``setting`` name where it is (None when it is not about one node or setting),
    ``code`` is the server's problem code, and ``problems`` lists every problem found.
    """

    def __init__(
        self,
        message: str,
        *,
        node_id: Optional[str] = None,
        setting: Optional[str] = None,
        code: Optional[str] = None,
        path: Optional[str] = None,
        problems: Sequence[Problem] = (),
        report: Optional[Report] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.node_id = node_id
        self.setting = setting
        self.code = code
        self.path = path
        self.problems: List[Problem] = list(problems)
        self._report = report

    @classmethod
    def from_problems(cls, problems: Sequence[Problem], message: Optional[str] = None, report: Optional[Report] = None) -> "BuilderError":
        first = problems[0]
        return cls(
            message or first.message,
            node_id=first.node_id,
            setting=first.setting,
            code=first.code,
            path=first.path,
            problems=problems,
            report=report,
        )

    @property
    def details(self) -> Dict[str, Any]:
        """The problems shaped as the server's ``details`` of a 400 INVALID_WORKFLOW: ``{nodes, graph}``."""
        report = self._report
        if report is None:
            report = Report()
            for problem in self.problems:
                report.add(problem)
        errors: Dict[str, Any] = report.to_dict()["errors"]
        return errors


class Ref:
    """
    A reference to a node's output (or to the execute inputs, or to an environment variable),
    written as a binding: ``str(ref)`` and ``f"{ref}"`` give ``{{ node.path }}``. Index it to go
    deeper: ``trigger["user"]["name"]``, ``llm["choices"][0]``.
    """

    __slots__ = ("_head", "_path", "_node")

    def __init__(self, head: str, path: Tuple[Segment, ...] = (), node: Optional["Node"] = None) -> None:
        self._head = head
        self._path = path
        self._node = node

    @property
    def node(self) -> Optional["Node"]:
        """The node whose output it reads; None for ``inputs`` and ``env``."""
        return self._node

    @property
    def path(self) -> Tuple[Segment, ...]:
        return self._path

    def __getitem__(self, key: Segment) -> "Ref":
        if self._head == ENV_NAMESPACE and self._node is None:
            raise TypeError(f'{{{{ env.… }}}} names one variable and nothing inside it; "{self}" cannot be indexed')
        format_path(self._head, (key,))  # refuses what a binding path cannot hold
        return Ref(self._head, (*self._path, key), self._node)

    def __iter__(self) -> NoReturn:
        raise TypeError("a Ref is not iterable: index it by field name or list index")

    def __str__(self) -> str:
        return format_path(self._head, self._path)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"Ref({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and (self._head, self._path, self._node) == (other._head, other._path, other._node)

    def __hash__(self) -> int:
        return hash((self._head, self._path))


class _Namespace:
    """``inputs["name"]`` → ``{{ inputs.name }}``; ``env["API_KEY"]`` (or ``env.API_KEY``) → ``{{ env.API_KEY }}``."""

    def __init__(self, head: str) -> None:
        self._head = head

    def __getitem__(self, key: str) -> Ref:
        if self._head == ENV_NAMESPACE:
            if not isinstance(key, str):
                raise TypeError("an environment variable's name is a string")
            ref = Ref(self._head, (key,))
            if f"{{{{ env.{key} }}}}" != str(ref):
                raise ValueError(f'"{key}" is not a variable name a binding can hold: use letters, digits and "_", not starting with a digit')
            return ref
        return Ref(self._head)[key]

    def __getattr__(self, name: str) -> Ref:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __str__(self) -> str:
        return str(Ref(self._head)) if self._head == INPUTS_NAMESPACE else f"{{{{ {self._head}.NAME }}}}"

    def __repr__(self) -> str:
        return f"<bindings {{{{ {self._head}.… }}}}>"


#: The execute request's inputs: ``inputs["name"]`` is ``{{ inputs.name }}``.
inputs = _Namespace(INPUTS_NAMESPACE)
#: Environment variables of the run: ``env["OPENAI_API_KEY"]`` is ``{{ env.OPENAI_API_KEY }}``.
env = _Namespace(ENV_NAMESPACE)


class Handle:
    """One named output or input of a node, for an edge: ``wf.edge(check.handle("true"), big)``."""

    __slots__ = ("node", "name")

    def __init__(self, node: "Node", name: str) -> None:
        self.node = node
        self.name = name

    def __repr__(self) -> str:
        return f"Handle({self.node.id!r}, {self.name!r})"


class Node:
    """A node of a :class:`Workflow`. Index it to reference its output: ``node["field"]``."""

    def __init__(
        self,
        workflow: "Workflow",
        id: str,
        type: str,
        settings: Optional[Dict[str, Any]],
        position: Any = None,
        ui: Any = None,
        *,
        auto_edges: bool = True,
        keys: FrozenSet[str] = frozenset({"settings"}),
    ) -> None:
        self.workflow = workflow
        self.id = id
        self.type = type
        #: The settings as JSON (references already written as bindings); edit in place if you like.
        self.settings: Dict[str, Any] = settings if settings is not None else {}
        self.position = position
        self.ui = ui
        #: Whether the edges its bindings need are added for it (False for nodes read by from_dict).
        self.auto_edges = auto_edges
        self._keys = keys

    @property
    def output(self) -> Ref:
        """The node's whole output, ``{{ id }}``."""
        return Ref(self.id, (), self)

    def __getitem__(self, key: Segment) -> Ref:
        return self.output[key]

    def __iter__(self) -> NoReturn:
        raise TypeError("a Node is not iterable: index it by field name to reference its output")

    def handle(self, name: str) -> Handle:
        """Its output or input ``name``, for :meth:`Workflow.edge` (e.g. an ``if`` node's ``"true"``)."""
        if not isinstance(name, str) or not name:
            raise TypeError("a handle is named by a non-empty string")
        return Handle(self, name)

    def __str__(self) -> str:
        return str(self.output)

    def __repr__(self) -> str:
        return f"Node(id={self.id!r}, type={self.type!r})"

    def json_settings(self) -> Dict[str, Any]:
        """Its settings as JSON: references put into ``settings`` after the node was made become bindings too."""
        converted: Dict[str, Any] = _to_json(self.settings, self.workflow, self.id, "")
        return converted

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"id": self.id, "type": self.type}
        if "settings" in self._keys or self.settings:
            out["settings"] = self.json_settings()
        if "position" in self._keys or self.position is not None:
            out["position"] = json_copy(self.position)
        if "ui" in self._keys or self.ui is not None:
            out["ui"] = json_copy(self.ui)
        return out


class Edge:
    """An edge of a :class:`Workflow`. ``auto`` marks one added for a binding."""

    __slots__ = ("source", "target", "source_handle", "target_handle", "id", "auto", "_keys")

    def __init__(
        self,
        source: str,
        target: str,
        source_handle: Optional[str] = None,
        target_handle: Optional[str] = None,
        id: Optional[str] = None,
        *,
        auto: bool = False,
        keys: FrozenSet[str] = frozenset(),
    ) -> None:
        self.source = source
        self.target = target
        self.source_handle = source_handle
        self.target_handle = target_handle
        self.id = id
        self.auto = auto
        self._keys = keys

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        if self.id is not None or "id" in self._keys:
            out["id"] = self.id
        out["source"] = self.source
        if self.source_handle is not None or "sourceHandle" in self._keys:
            out["sourceHandle"] = self.source_handle
        out["target"] = self.target
        if self.target_handle is not None or "targetHandle" in self._keys:
            out["targetHandle"] = self.target_handle
        return out

    def _same_as(self, other: "Edge") -> bool:
        return (self.source, self.target, self.source_handle, self.target_handle, self.id) == (
            other.source,
            other.target,
            other.source_handle,
            other.target_handle,
            other.id,
        )

    def __repr__(self) -> str:
        handles = "".join(f", {name}={value!r}" for name, value in (("source_handle", self.source_handle), ("target_handle", self.target_handle)) if value)
        return f"Edge({self.source!r} → {self.target!r}{handles}{', auto' if self.auto else ''})"


Endpoint = Union[Node, Handle, str]
RESERVED_IDS = (INPUTS_NAMESPACE, ENV_NAMESPACE)
_BODY_KEYS = ("name", "description", "nodes", "edges")
# What GET /v1/workflows/{id} adds to a body; from_dict keeps them as attributes, to_dict leaves them out.
_STORED_KEYS = ("id", "version", "createdAt", "updatedAt")


class Workflow:
    """
    A workflow being written: add nodes with :meth:`node`, edges with :meth:`edge` (or let
    references add them), then send :meth:`to_dict` — or the Workflow itself to the client.

    ``catalog`` (optional, the answer of ``GET /v1/nodes``) makes every :meth:`node` and
    :meth:`edge` check its type, settings and handles at once, and tells which settings the
    server never scans for bindings (a ``code`` node's Python), so they add no edges.
    """

    def __init__(self, name: str, description: Optional[str] = None, *, catalog: Optional[CatalogLike] = None) -> None:
        if not isinstance(name, str):
            raise TypeError("a workflow's name is a string")
        self.name = name
        self.description = description
        self.catalog: Optional[Catalog] = Catalog.from_payload(catalog) if catalog is not None else None
        #: Set by :meth:`from_dict` from a stored workflow (``GET /v1/workflows/{id}``); never sent.
        self.id: Optional[str] = None
        self.version: Optional[int] = None
        self._nodes: Dict[str, Node] = {}
        self._node_list: List[Node] = []
        self._edges: List[Edge] = []
        self._keys: FrozenSet[str] = frozenset()

    # ---- building ------------------------------------------------------------------------------

    def node(
        self,
        type: str,
        id: Optional[str] = None,
        *,
        settings: Optional[Mapping[str, Any]] = None,
        position: Optional[Mapping[str, Any]] = None,
        ui: Optional[Mapping[str, Any]] = None,
        after: Union[Endpoint, Sequence[Endpoint], None] = None,
        **kwargs: Any,
    ) -> Node:
        """
        Adds a node of ``type`` (``"transform"``, or pinned: ``"transform@1"``) and returns it.

        Settings come as keyword arguments (``value=…``, ``epochs=5``) and/or as ``settings={…}``
        for names Python cannot take as keywords (or that are this method's own parameters:
        ``type``, ``id``, ``settings``, ``position``, ``ui``, ``after``). A setting may hold
        :class:`Ref` values anywhere — alone (one binding, which keeps the bound value's type) or
        formatted into strings. ``id`` defaults to the type's name (``openai_chat``, then
        ``openai_chat_2``…). ``after`` adds edges into this node from the given nodes or handles,
        before the edges its references need.
        """
        if not isinstance(type, str) or not type:
            raise TypeError("a node's type is a non-empty string, e.g. \"transform\"")
        node_id = id if id is not None else self._fresh_id(type)
        if not isinstance(node_id, str):
            raise TypeError("a node's id is a string")
        invalid = invalid_node_id_message(node_id)
        if invalid is not None:
            raise BuilderError(invalid[1], node_id=node_id, code=invalid[0])
        if node_id in self._nodes:
            first = self._node_list.index(self._nodes[node_id])
            message = (
                f'Node id "{node_id}" is used by more than one node (at indexes {first} and {len(self._node_list)}); give each node its own id.'
            )
            raise BuilderError(message, node_id=node_id, code="DUPLICATE_NODE_ID")
        given: Dict[str, Any] = {}
        for key, value in (settings or {}).items():
            given[key] = value
        for key, value in kwargs.items():
            if key in given:
                raise BuilderError(f'Node "{node_id}": setting "{key}" is given twice (as settings["{key}"] and {key}=).', node_id=node_id, setting=key)
            given[key] = value
        json_settings = {str(key): _to_json(value, self, node_id, f"/{escape_pointer(str(key))}") for key, value in given.items()}
        node = Node(self, node_id, type, json_settings, _copy_or_none(position, self, node_id), _copy_or_none(ui, self, node_id))
        self._check_node_now(node, len(self._node_list))
        self._nodes[node_id] = node
        self._node_list.append(node)
        for source in _as_list(after):
            try:
                self.edge(source, node)
            except BuilderError:
                self._remove_node(node)
                raise
        return node

    def edge(
        self,
        source: Endpoint,
        target: Endpoint,
        *,
        source_handle: Optional[str] = None,
        target_handle: Optional[str] = None,
        id: Optional[str] = None,
    ) -> Edge:
        """
        Adds an edge from ``source`` to ``target`` (nodes, node ids, or handles such as
        ``check.handle("true")`` / ``train.handle("data")``) and returns it; the same edge twice
        is one edge. Without a handle, an edge leaves the type's only output and enters its only input.
        """
        source_id, from_handle = self._endpoint(source, "source")
        target_id, into_handle = self._endpoint(target, "target")
        if from_handle is not None and source_handle is not None and from_handle != source_handle:
            raise BuilderError(f'Edge from "{source_id}" names two outputs, "{from_handle}" and "{source_handle}".', node_id=source_id)
        if into_handle is not None and target_handle is not None and into_handle != target_handle:
            raise BuilderError(f'Edge into "{target_id}" names two inputs, "{into_handle}" and "{target_handle}".', node_id=target_id)
        edge = Edge(source_id, target_id, source_handle or from_handle, target_handle or into_handle, id)
        for existing in self._edges:
            if existing._same_as(edge):
                return existing
        if source_id == target_id:
            raise BuilderError(f'Edge from "{source_id}" connects node "{source_id}" to itself; a node cannot feed its own input.', node_id=source_id, code="SELF_LOOP")
        self._edges.append(edge)
        if self.catalog is not None:
            problems = self._edge_problems(edge)
            if problems:
                self._edges.remove(edge)
                raise BuilderError.from_problems(problems)
        return edge

    def chain(self, *nodes: Endpoint) -> List[Edge]:
        """Edges from each node to the next: ``wf.chain(fc1, act, fc2, model)``."""
        return [self.edge(source, target) for source, target in zip(nodes, nodes[1:])]

    # ---- reading -------------------------------------------------------------------------------

    @property
    def nodes(self) -> List[Node]:
        """The nodes, in the order they were added."""
        return list(self._node_list)

    @property
    def edges(self) -> List[Edge]:
        """
        The edges as :meth:`to_dict` sends them: those added, and for each reference to a node
        that is not upstream of the node using it, an edge from it (``auto``), placed after the
        other edges into that node (or, when there are none, after the edges into earlier nodes).
        """
        edges = list(self._edges)
        index_of = {node.id: index for index, node in enumerate(self._node_list)}
        for node in self._node_list:
            if not node.auto_edges:
                continue
            for bound_id in self._referenced_nodes(node):
                if bound_id == node.id or bound_id not in self._nodes:
                    continue
                if _reaches(edges, bound_id, node.id) or _reaches(edges, node.id, bound_id):
                    continue  # already upstream; or the edge would close a cycle, which check() reports as the binding
                position = _insertion_point(edges, node.id, index_of)
                edges.insert(position, Edge(bound_id, node.id, auto=True))
        return edges

    def __getitem__(self, node_id: str) -> Node:
        return self._nodes[node_id]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._node_list))

    def __len__(self) -> int:
        return len(self._node_list)

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, {len(self._node_list)} nodes, {len(self.edges)} edges)"

    # ---- JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """The body of ``POST /v1/workflows`` (and of ``PUT`` and ``/validate``): name, description, nodes, edges."""
        body: Dict[str, Any] = {"name": self.name}
        if self.description is not None or "description" in self._keys:
            body["description"] = self.description
        body["nodes"] = [node.to_dict() for node in self._node_list]
        body["edges"] = [edge.to_dict() for edge in self.edges]
        return body

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, catalog: Optional[CatalogLike] = None) -> "Workflow":
        """
        A workflow from a body (or from ``GET /v1/workflows/{id}``'s answer, whose ``id`` and
        ``version`` it keeps as attributes): ``Workflow.from_dict(d).to_dict() == d`` for a body.
        Its nodes keep exactly their edges (none are added for their bindings); nodes added
        afterwards get theirs. Nothing is checked but the shape: :meth:`check` does the rest.
        """
        if not isinstance(data, Mapping):
            raise TypeError("a workflow is a JSON object")
        unknown = [key for key in data if key not in _BODY_KEYS and key not in _STORED_KEYS]
        if unknown:
            raise BuilderError(f"A workflow has no property {_quote(unknown[0])} (it has {', '.join(map(_quote, _BODY_KEYS))}).")
        name = data.get("name")
        if not isinstance(name, str):
            raise BuilderError('A workflow needs a "name" (a string).')
        description = data.get("description")
        workflow = cls(name, description if isinstance(description, str) else None, catalog=catalog)
        workflow._keys = frozenset(key for key in ("description",) if key in data)
        stored_id, version = data.get("id"), data.get("version")
        workflow.id = stored_id if isinstance(stored_id, str) else None
        workflow.version = version if isinstance(version, int) else None
        for index, raw in enumerate(_list_of_objects(data, "nodes")):
            extra = [key for key in raw if key not in ("id", "type", "settings", "position", "ui")]
            if extra or not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str):
                problem = f"has the property {_quote(extra[0])}" if extra else 'needs an "id" and a "type" (strings)'
                raise BuilderError(f"Node at index {index} {problem}.", node_id=raw.get("id") if isinstance(raw.get("id"), str) else None)
            settings = raw.get("settings")
            if settings is not None and not isinstance(settings, Mapping):
                raise BuilderError(f'Node "{raw["id"]}": "settings" must be an object.', node_id=raw["id"])
            keys = frozenset(key for key in ("settings", "position", "ui") if key in raw)
            node = Node(workflow, raw["id"], raw["type"], json_copy(settings), json_copy(raw.get("position")), json_copy(raw.get("ui")), auto_edges=False, keys=keys)
            if node.id not in workflow._nodes:
                workflow._nodes[node.id] = node
            workflow._node_list.append(node)
        for index, raw in enumerate(_list_of_objects(data, "edges")):
            extra = [key for key in raw if key not in ("id", "source", "target", "sourceHandle", "targetHandle")]
            if extra or not isinstance(raw.get("source"), str) or not isinstance(raw.get("target"), str):
                problem = f"has the property {_quote(extra[0])}" if extra else 'needs a "source" and a "target" (node ids)'
                raise BuilderError(f"Edge at index {index} {problem}.")
            keys = frozenset(key for key in ("id", "sourceHandle", "targetHandle") if key in raw)
            workflow._edges.append(Edge(raw["source"], raw["target"], raw.get("sourceHandle"), raw.get("targetHandle"), raw.get("id"), keys=keys))
        return workflow

    @classmethod
    def from_json(cls, text: str, *, catalog: Optional[CatalogLike] = None) -> "Workflow":
        return cls.from_dict(json.loads(text), catalog=catalog)

    # ---- checking ------------------------------------------------------------------------------

    def report(self, catalog: Optional[CatalogLike] = None) -> Report:
        """Every problem the server's checks find, without raising (``.to_dict()`` is what ``/validate`` answers)."""
        chosen = Catalog.from_payload(catalog) if catalog is not None else self.catalog
        if chosen is None:
            raise TypeError("check() needs the node catalogue: the answer of GET /v1/nodes (client.nodes.list() or a Catalog)")
        return validate(self.to_dict(), chosen)

    def check(self, catalog: Optional[CatalogLike] = None) -> None:
        """
        Runs the server's checks against ``catalog`` (default: the workflow's own) and raises
        :class:`BuilderError` with the message the server's 400 INVALID_WORKFLOW would have
        (``"The workflow is invalid (2 problems): Node "opt": Setting "/lr" must be > 0 …"``),
        naming the first problem's node and setting; ``.problems`` holds them all.
        """
        report = self.report(catalog)
        if not report.valid:
            raise BuilderError.from_problems(report.problems, report.message(), report)

    # ---- internals -----------------------------------------------------------------------------

    def _fresh_id(self, type_ref: str) -> str:
        base = re.sub(r"[^a-z0-9_]", "_", type_ref.split("@")[0].lower())
        if not re.match(r"[a-z_]", base):
            base = f"n_{base}"
        base = base[:56]
        if base in RESERVED_IDS:
            base = f"{base}_node"
        candidate, count = base, 1
        while candidate in self._nodes:
            count += 1
            candidate = f"{base}_{count}"
        return candidate

    def _endpoint(self, endpoint: Endpoint, role: str) -> Tuple[str, Optional[str]]:
        if isinstance(endpoint, Handle):
            return self._endpoint(endpoint.node, role)[0], endpoint.name
        if isinstance(endpoint, Node):
            if endpoint.workflow is not self or self._nodes.get(endpoint.id) is not endpoint:
                raise BuilderError(f'Node "{endpoint.id}" belongs to another workflow.', node_id=endpoint.id)
            return endpoint.id, None
        if isinstance(endpoint, str):
            if endpoint not in self._nodes:
                verb = "starts" if role == "source" else "ends"
                raise BuilderError(f'Edge {verb} at node "{endpoint}", which does not exist.', node_id=endpoint, code=f"UNKNOWN_EDGE_{role.upper()}")
            return endpoint, None
        raise TypeError(f"an edge's {role} is a Node, a node id or a Handle, not {endpoint!r}")

    def _remove_node(self, node: Node) -> None:
        self._edges = [edge for edge in self._edges if node.id not in (edge.source, edge.target)]
        self._node_list.remove(node)
        del self._nodes[node.id]

    def _check_node_now(self, node: Node, index: int) -> None:
        """With a catalogue: the node's type and settings, at the line that adds it."""
        if self.catalog is None:
            return
        definition = self.catalog.resolve(node.type)
        if definition is None:
            raise BuilderError(self.catalog.describe_unknown(node.id, node.type), node_id=node.id, code="UNKNOWN_NODE_TYPE", path=f"/nodes/{index}/type")
        problems = [
            Problem(node.id, "INVALID_SETTINGS", f'Node "{node.id}": {problem.message}', f"/nodes/{index}/settings{problem.path}")
            for problem in definition.validate_settings(node.settings)
        ]
        if problems:
            raise BuilderError.from_problems(problems)

    def _edge_problems(self, edge: Edge) -> List[Problem]:
        assert self.catalog is not None
        body = self.to_dict()
        position = next(index for index, candidate in enumerate(self.edges) if candidate is edge)
        report = validate({"nodes": body["nodes"], "edges": body["edges"]}, self.catalog)
        return [problem for problem in report.problems if problem.path is not None and problem.path.startswith(f"/edges/{position}/")]

    def _referenced_nodes(self, node: Node) -> List[str]:
        """The node ids its bindings name, in document order, once each."""
        definition: Optional[NodeType] = self.catalog.resolve(node.type) if self.catalog is not None else None
        settings = node.json_settings()
        found = find_bindings(bindable_settings(settings, definition)).bindings + expression_bindings(settings, definition)
        ids: List[str] = []
        for binding in found:
            if binding.kind == "node" and binding.name not in ids:
                ids.append(binding.name)
        return ids


def _to_json(value: Any, workflow: Workflow, node_id: str, pointer: str) -> Any:
    """A setting as JSON: references become bindings; anything JSON cannot hold is a BuilderError."""
    if isinstance(value, Ref):
        if value.node is not None and (value.node.workflow is not workflow or workflow._nodes.get(value.node.id) is not value.node):
            raise BuilderError(f'Node "{node_id}": setting "{pointer}" refers to node "{value.node.id}" of another workflow.', node_id=node_id, setting=_top(pointer))
        return str(value)
    if isinstance(value, Node):
        return _to_json(value.output, workflow, node_id, pointer)
    if isinstance(value, (_Namespace, Handle)):
        raise BuilderError(f'Node "{node_id}": setting "{pointer}" holds {value!r}; index it, e.g. inputs["name"].', node_id=node_id, setting=_top(pointer))
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BuilderError(f'Node "{node_id}": setting "{pointer}" is {value}, which JSON cannot hold.', node_id=node_id, setting=_top(pointer))
        return value
    if isinstance(value, Mapping):
        out: Dict[str, Any] = {}
        for key, child in value.items():
            if not isinstance(key, str):
                raise BuilderError(f'Node "{node_id}": setting "{pointer}" has the key {key!r}; JSON keys are strings.', node_id=node_id, setting=_top(pointer))
            out[key] = _to_json(child, workflow, node_id, f"{pointer}/{escape_pointer(key)}")
        return out
    if isinstance(value, (list, tuple)):
        return [_to_json(child, workflow, node_id, f"{pointer}/{index}") for index, child in enumerate(value)]
    raise BuilderError(
        f'Node "{node_id}": setting "{pointer}" holds a {type(value).__name__}, which is not JSON (use dicts, lists, strings, numbers, booleans, None or references).',
        node_id=node_id,
        setting=_top(pointer),
    )


def _copy_or_none(value: Any, workflow: Workflow, node_id: str) -> Any:
    return None if value is None else _to_json(value, workflow, node_id, "")


def _top(pointer: str) -> str:
    return pointer.split("/")[1].replace("~1", "/").replace("~0", "~") if pointer.startswith("/") else pointer


def _as_list(after: Union[Endpoint, Sequence[Endpoint], None]) -> List[Endpoint]:
    if after is None:
        return []
    if isinstance(after, (Node, Handle, str)):
        return [after]
    return list(after)


def _reaches(edges: Sequence[Edge], source: str, target: str) -> bool:
    """Whether edges lead from node ``source`` to node ``target``."""
    successors: Dict[str, List[str]] = {}
    for edge in edges:
        successors.setdefault(edge.source, []).append(edge.target)
    seen = set()
    stack = list(successors.get(source, ()))
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current not in seen:
            seen.add(current)
            stack.extend(successors.get(current, ()))
    return False


def _insertion_point(edges: Sequence[Edge], node_id: str, index_of: Mapping[str, int]) -> int:
    """After the last edge into ``node_id``; else after the last edge into a node added before it; else first."""
    into = [index for index, edge in enumerate(edges) if edge.target == node_id]
    if into:
        return into[-1] + 1
    rank = index_of[node_id]
    earlier = [index for index, edge in enumerate(edges) if index_of.get(edge.target, len(index_of)) < rank]
    return earlier[-1] + 1 if earlier else 0


def _list_of_objects(data: Mapping[str, Any], key: str) -> List[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise BuilderError(f'A workflow\'s "{key}" is a list of objects.')
    return value


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)

