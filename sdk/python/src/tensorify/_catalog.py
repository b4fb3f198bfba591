"""The node catalogue as ``GET /v1/nodes`` serves it: node types, their handles and settings schemas.

Nothing here knows any node type by name: a type the server adds tomorrow is checked the same way,
from its entry in the catalogue, with no new SDK release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._bindings import js_keys
from ._schema import SettingsProblem, settings_problems


@dataclass(frozen=True)
class Port:
    """An input or output handle of a node type; edges name it as ``targetHandle`` / ``sourceHandle``."""

    id: str
    #: What flows through it: ``any``, ``object``, ``dataset``, ``module``, ``layer``…
    data_type: str
    description: str = ""
    #: Outputs only: the edges leaving it carry the result's ``[field]``.
    field: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Port":
        field = data.get("field")
        return cls(str(data["id"]), str(data.get("dataType", "any")), str(data.get("description", "")), field if isinstance(field, str) else None)


@dataclass(frozen=True)
class NodeType:
    """One entry of the catalogue. ``raw`` is the entry exactly as the server sent it."""

    type: str
    version: str
    trigger: bool
    inputs: Tuple[Port, ...]
    outputs: Tuple[Port, ...]
    settings_schema: Mapping[str, Any]
    defaults: Mapping[str, Any]
    #: Settings taken as written, never scanned for bindings (a ``code`` node's Python).
    verbatim_settings: Tuple[str, ...]
    #: Settings in the condition language (an ``if`` node's ``condition``).
    expression_settings: Tuple[str, ...]
    #: ``python.role``: ``step`` (the default), ``branch``, ``return``, ``layer`` or ``sequence``.
    role: str
    raw: Mapping[str, Any]
    #: ``python.parameters``: ``input``, ``ctx`` or ids of its inputs (an input named here takes a value of its dataType).
    parameters: Tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NodeType":
        python = data.get("python")
        role = python.get("role") if isinstance(python, Mapping) else None
        parameters = python.get("parameters") if isinstance(python, Mapping) else None
        schema = data.get("settingsSchema")
        defaults = data.get("defaults")
        return cls(
            type=str(data["type"]),
            version=str(data.get("version", "0.0.0")),
            trigger=data.get("trigger") is True,
            inputs=tuple(Port.from_dict(port) for port in data.get("inputs") or ()),
            outputs=tuple(Port.from_dict(port) for port in data.get("outputs") or ()),
            settings_schema=schema if isinstance(schema, Mapping) else {},
            defaults=defaults if isinstance(defaults, Mapping) else {},
            verbatim_settings=tuple(data.get("verbatimSettings") or ()),
            expression_settings=tuple(data.get("expressionSettings") or ()),
            role=role if isinstance(role, str) else "step",
            raw=data,
            parameters=tuple(str(name) for name in parameters) if isinstance(parameters, list) else (),
        )

    @property
    def major(self) -> str:
        """The major part of the version: what a ``type@<major>`` pin must equal."""
        return major_version(self.version)

    @property
    def settings(self) -> List[str]:
        """The names of its settings, in the schema's order."""
        properties = self.settings_schema.get("properties")
        return js_keys(properties) if isinstance(properties, Mapping) else []

    def validate_settings(self, settings: Mapping[str, Any]) -> List[SettingsProblem]:
        """The problems of ``settings`` with the type's defaults merged under them, as the server finds them."""
        merged = dict(self.defaults)
        merged.update(settings)
        ordered = {key: merged[key] for key in js_keys(merged)}
        return settings_problems(self.type, self.settings_schema, ordered)


def parse_type_ref(type_ref: str) -> Tuple[str, Optional[str]]:
    """``name`` or ``name@<major>`` split into its name and pin (None when unpinned)."""
    at = type_ref.find("@")
    return (type_ref, None) if at == -1 else (type_ref[:at], type_ref[at + 1 :])


def major_version(version: str) -> str:
    return version.split(".")[0]


CatalogLike = Union["Catalog", Mapping[str, Any], Sequence[Mapping[str, Any]]]


class Catalog:
    """
    The node types a server accepts, built from its ``GET /v1/nodes`` answer::

        catalog = Catalog.from_payload(httpx.get(f"{base}/nodes", headers=auth).json())
    """

    def __init__(self, types: Iterable[NodeType]) -> None:
        self._types: Dict[str, NodeType] = {}
        for node_type in types:
            self._types[node_type.type] = node_type

    @classmethod
    def from_payload(cls, payload: CatalogLike) -> "Catalog":
        """From ``{"nodes": [...]}`` (the answer of ``GET /v1/nodes``), its list of nodes, or a Catalog."""
        if isinstance(payload, Catalog):
            return payload
        to_dict = getattr(payload, "to_dict", None)
        if callable(to_dict):
            payload = to_dict()
        entries = payload.get("nodes") if isinstance(payload, Mapping) else payload
        if not isinstance(entries, (list, tuple)) or not all(isinstance(entry, Mapping) and isinstance(entry.get("type"), str) for entry in entries):
            raise TypeError('a catalogue is the answer of GET /v1/nodes: {"nodes": [{"type": …, "settingsSchema": …}, …]}')
        return cls(NodeType.from_dict(entry) for entry in entries)

    def list(self) -> List[NodeType]:
        """Every node type, in the server's order."""
        return list(self._types.values())

    def __iter__(self) -> Any:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, type_ref: object) -> bool:
        return isinstance(type_ref, str) and self.resolve(type_ref) is not None

    def resolve(self, type_ref: str) -> Optional[NodeType]:
        """The type named ``name`` or ``name@<major>``; None when unknown or when the pin is not its major."""
        name, major = parse_type_ref(type_ref)
        entry = self._types.get(name)
        if entry is None or (major is not None and major != entry.major):
            return None
        return entry

    def describe_unknown(self, node_id: str, type_ref: str) -> str:
        """The server's sentence for a node whose type does not resolve."""
        name, major = parse_type_ref(type_ref)
        unpinned = self.resolve(name) if major is not None else None
        if unpinned is not None:
            return (
                f'Node "{node_id}" pins type "{type_ref}", but the catalogue has "{name}" version {unpinned.version}; '
                f'use "{name}" or "{name}@{unpinned.major}".'
            )
        return f'Node "{node_id}" has type "{type_ref}", which is not in the node catalogue (GET /v1/nodes lists the types).'


__all__ = ["Catalog", "CatalogLike", "NodeType", "Port", "SettingsProblem", "parse_type_ref"]
