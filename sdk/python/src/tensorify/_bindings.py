"""Bindings: ``{{ path }}`` inside the strings of a node's settings, read as the server reads them.

The grammar and every message follow the server's parser (``src/graph/bindings.ts``), so that
:meth:`tensorify.Workflow.check` reports what ``POST /v1/workflows`` would::

    binding := "{{" ( path | json-string ) "}}"
    path    := head ( "." ident | "[" integer "]" | "[" json-string "]" )*
    head    := a node id (its whole output) | "inputs" (the execute inputs) | "env" "." NAME
    ident   := [A-Za-z_][A-Za-z0-9_]*

This module also writes bindings (:func:`format_path`) and orders object keys the way JavaScript
does (:func:`js_keys`), which the server's messages and the order of its problems depend on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

INPUTS_NAMESPACE = "inputs"
ENV_NAMESPACE = "env"

OPEN = "{{"
CLOSE = "}}"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\[\s\S])*"')
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_WHITESPACE_CHARS = " \t\n\r"
_BINDING_EXAMPLES = "{{ node.field }}, {{ node.items[0] }}, {{ inputs.name }} or {{ env.NAME }}"
_MAX_SAFE_INTEGER = 2**53 - 1
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")

Segment = Union[str, int]


@dataclass(frozen=True)
class Binding:
    """One binding found in a string: where it is, what it names and the accessors after its head."""

    raw: str
    start: int
    end: int
    #: ``"node"``, ``"inputs"``, ``"env"`` or ``"literal"``.
    kind: str
    #: The node id (``kind == "node"``), the variable name (``"env"``) or the text (``"literal"``).
    name: str
    path: Tuple[Segment, ...] = ()
    #: JSON pointer to the string that holds it, relative to where the search started.
    pointer: str = ""


@dataclass(frozen=True)
class BindingSyntaxError:
    """A malformed binding: its text (through the next ``}}``) and a sentence saying what is wrong."""

    raw: str
    start: int
    end: int
    message: str
    pointer: str = ""


@dataclass
class FoundBindings:
    bindings: List[Binding] = field(default_factory=list)
    errors: List[BindingSyntaxError] = field(default_factory=list)


def parse_bindings(text: str, pointer: str = "") -> FoundBindings:
    """Every binding of one string, in order, and every malformed one."""
    found = FoundBindings()
    start = text.find(OPEN)
    while start != -1:
        parsed = parse_binding_at(text, start, pointer)
        if isinstance(parsed, Binding):
            found.bindings.append(parsed)
        else:
            found.errors.append(parsed)
        start = text.find(OPEN, parsed.end)
    return found


def parse_binding_at(text: str, start: int, pointer: str = "") -> Union[Binding, BindingSyntaxError]:
    """The binding whose ``{{`` is at ``start``, or what is wrong with it (ending at the next ``}}``)."""
    parser = _PathParser(text, start + len(OPEN))
    outcome = parser.parse()
    if isinstance(outcome, _Parsed):
        raw = text[start : outcome.end]
        if outcome.literal is not None:
            return Binding(raw, start, outcome.end, "literal", outcome.literal, (), pointer)
        head, accessors = outcome.head, tuple(parser.accessors)
        if head == INPUTS_NAMESPACE:
            return Binding(raw, start, outcome.end, "inputs", head, accessors, pointer)
        if head != ENV_NAMESPACE:
            return Binding(raw, start, outcome.end, "node", head, accessors, pointer)
        name = accessors[0] if accessors else None
        if len(accessors) != 1 or not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            problem = '"env" must be followed by exactly one variable name, as in {{ env.NAME }}'
            return BindingSyntaxError(raw, start, outcome.end, f'Binding "{raw}" is not valid: {problem}.', pointer)
        return Binding(raw, start, outcome.end, "env", name, (), pointer)
    close = text.find(CLOSE, start + len(OPEN))
    if close == -1:
        raw = text[start:]
        return BindingSyntaxError(raw, start, len(text), f'Binding "{raw}" opens with "{{{{" but never closes with "}}}}".', pointer)
    end = close + len(CLOSE)
    raw = text[start:end]
    message = f'Binding "{raw}" is not valid: {outcome}. Write a path such as {_BINDING_EXAMPLES}.'
    return BindingSyntaxError(raw, start, end, message, pointer)


def find_bindings(value: Any, pointer: str = "") -> FoundBindings:
    """Every binding in every string of a JSON value (object keys are not scanned), in document order."""
    found = FoundBindings()
    for text, where in iter_strings(value, pointer):
        one = parse_bindings(text, where)
        found.bindings.extend(one.bindings)
        found.errors.extend(one.errors)
    return found


def iter_strings(value: Any, pointer: str = "") -> Iterator[Tuple[str, str]]:
    """The strings of a JSON value with their JSON pointers, in the order JavaScript walks them."""
    if isinstance(value, str):
        yield value, pointer
    elif isinstance(value, Mapping):
        for key in js_keys(value):
            yield from iter_strings(value[key], f"{pointer}/{escape_pointer(str(key))}")
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            yield from iter_strings(child, f"{pointer}/{index}")


def condition_bindings(text: str, pointer: str) -> List[Binding]:
    """
    The bindings of a condition setting (an ``if`` node's ``condition``): each ``{{ … }}`` outside
    the condition's quoted strings. The server parses the whole condition language; the SDK only
    needs its bindings, to add edges and check that they resolve (a condition that does not parse
    comes back from the server as INVALID_EXPRESSION).
    """
    bindings: List[Binding] = []
    position = 0
    while position < len(text):
        char = text[position]
        if text.startswith(OPEN, position):
            parsed = parse_binding_at(text, position, pointer)
            if isinstance(parsed, Binding):
                bindings.append(parsed)
            position = parsed.end
        elif char in "\"'":
            position += 1
            while position < len(text) and text[position] != char:
                position += 2 if text[position] == "\\" else 1
            position += 1
        else:
            position += 1
    return bindings


def format_path(head: str, path: Sequence[Segment]) -> str:
    """``{{ head.a[0]["b c"] }}``: the binding a reference to ``head`` and ``path`` is written as."""
    text = head
    for segment in path:
        if isinstance(segment, bool) or not isinstance(segment, (str, int)):
            raise TypeError(f"a binding path holds field names (str) and list indexes (int), not {segment!r}")
        if isinstance(segment, int):
            if segment < 0:
                raise ValueError(f"a binding's list index must be 0 or more, not {segment}")
            text += f"[{segment}]"
        elif _IDENTIFIER.fullmatch(segment):
            text += f".{segment}"
        else:
            text += f"[{json.dumps(segment, ensure_ascii=False)}]"
    return f"{OPEN} {text} {CLOSE}"


def escape_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def js_keys(value: Mapping[str, Any]) -> List[str]:
    """
    The keys of an object in the order JavaScript gives them (``Object.keys``, ``for…in``, spread):
    array-index keys ("0", "7") first, ascending, then the others as inserted. The server walks
    settings in this order, so its problems come in this order.
    """
    indexes = [key for key in value if isinstance(key, str) and _ARRAY_INDEX.fullmatch(key) and int(key) < 2**32 - 1]
    indexes.sort(key=int)
    taken = set(indexes)
    return indexes + [key for key in value if key not in taken]


class _Parsed:
    def __init__(self, head: str, literal: Optional[str], end: int) -> None:
        self.head = head
        self.literal = literal
        self.end = end


class _PathParser:
    """Reads `` path }}`` from a position just past a ``{{``; a failure is the reason, as a string."""

    def __init__(self, text: str, position: int) -> None:
        self.text = text
        self.position = position
        self.path_start = position
        self.accessors: List[Segment] = []

    def parse(self) -> Union[_Parsed, str]:
        self._read(_WHITESPACE)
        self.path_start = self.position
        if self.text.startswith(CLOSE, self.position):
            return "it is empty"
        if self._char() == '"':
            return self._parse_literal()
        head = self._read(_IDENTIFIER)
        if head is None:
            return f'it must start with a node id, "inputs" or "env", not {self._describe_next()}'
        while self._char() in (".", "["):
            failure = self._read_field() if self._char() == "." else self._read_bracket()
            if failure is not None:
                return failure
        path = self._consumed()
        self._read(_WHITESPACE)
        if not self.text.startswith(CLOSE, self.position):
            return f'unexpected {self._describe_next()} after "{path}"'
        return _Parsed(head, None, self.position + len(CLOSE))

    def _parse_literal(self) -> Union[_Parsed, str]:
        text = self._read_string_literal()
        if text is None:
            return "the quoted text is not a valid JSON string"
        self._read(_WHITESPACE)
        if not self.text.startswith(CLOSE, self.position):
            return f"unexpected {self._describe_next()} after the quoted text"
        return _Parsed("", text, self.position + len(CLOSE))

    def _read_field(self) -> Optional[str]:
        self.position += 1
        name = self._read(_IDENTIFIER)
        if name is None:
            return f'expected a field name after "{self._consumed()}", found {self._describe_next()}'
        self.accessors.append(name)
        return None

    def _read_bracket(self) -> Optional[str]:
        self.position += 1
        before = self._consumed()
        if self._char() == '"':
            key = self._read_string_literal()
            if key is None:
                return f'the quoted key after "{before}" is not a valid JSON string'
            self.accessors.append(key)
        else:
            digits = self._read(_DIGITS)
            if digits is None:
                return f'expected an index or a quoted key after "{before}", found {self._describe_next()}'
            index = int(digits)
            if index > _MAX_SAFE_INTEGER:
                return f"the index [{digits}] is too large"
            self.accessors.append(index)
        if self._char() != "]":
            return f'expected "]" after "{self._consumed()}", found {self._describe_next()}'
        self.position += 1
        return None

    def _read_string_literal(self) -> Optional[str]:
        literal = self._read(_STRING_LITERAL)
        if literal is None:
            return None
        try:
            value = json.loads(literal)
        except ValueError:
            return None
        return value if isinstance(value, str) else None

    def _read(self, pattern: "re.Pattern[str]") -> Optional[str]:
        match = pattern.match(self.text, self.position)
        if match is None:
            return None
        self.position = match.end()
        return match.group(0)

    def _char(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def _consumed(self) -> str:
        return self.text[self.path_start : self.position]

    def _describe_next(self) -> str:
        char = self._char()
        if char == "":
            return "the end of the text"
        if self.text.startswith(CLOSE, self.position):
            return '"}}"'
        return "a space" if char in _WHITESPACE_CHARS else f'"{char}"'


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts and lists), leaving other leaves as they are."""
    if isinstance(value, Mapping):
        return {key: json_copy(child) for key, child in value.items()}
    if isinstance(value, list):
        return [json_copy(child) for child in value]
    return value


JsonObject = Dict[str, Any]
