"""
The JSON Schema (draft-07) checks of a node's settings, with the server's messages.

The server validates settings with Ajv (``allErrors``) and turns Ajv's errors into sentences
(``src/nodes/node-catalog.ts``). This module does the same for the keywords the catalogue's
``node.json`` files use — ``type``, ``properties``, ``required``, ``additionalProperties``,
``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``,
``maxLength``, ``pattern``, ``enum``, ``anyOf``, ``allOf``, ``items``, ``minItems``, ``maxItems``,
``uniqueItems``, ``$ref`` (to the draft-07 meta-schema, for the ``manual`` trigger's
``inputSchema``, and within a schema) — plus the cheap neighbours a new node type may well use (``const``, ``not``,
``oneOf``, ``multipleOf``, ``minProperties``, ``maxProperties``, ``patternProperties``), in Ajv's
order of keywords and with Ajv's wording, so a problem reads exactly as the server's 400 does.

Why not the ``jsonschema`` package: it would be the SDK's second dependency for this small
subset, and it would not give the server's messages — its wording ("-1 is less than the minimum
of 0"), its order of errors and its regular-expression dialect (Python's, where the catalogue's
patterns are JavaScript's) all differ from Ajv's, so its errors would have to be translated back
keyword by keyword anyway. Keywords outside the subset (``format``, ``if``,
``dependencies``, ``propertyNames``, ``contains``, tuple ``items``) are skipped here: the server
still checks them, and its answer raises :class:`tensorify.InvalidWorkflowError` as usual.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ._bindings import escape_pointer, js_keys
from ._metaschema import DRAFT_07, DRAFT_07_ID

#: The string branch of a setting that takes a number or one binding (node-catalog.ts BINDING_PATTERN).
BINDING_PATTERN = "^\\s*\\{\\{[^]*\\}\\}\\s*$"

_GROUPS: Dict[str, List[str]] = {
    # Ajv's rule groups, in the order it applies them: the keywords of any type first.
    "": ["$ref", "const", "enum", "not", "anyOf", "oneOf", "allOf"],
    "number": ["maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf"],
    "string": ["maxLength", "minLength", "pattern"],
    "array": ["maxItems", "minItems", "uniqueItems", "items"],
    "object": ["maxProperties", "minProperties", "required", "additionalProperties", "properties", "patternProperties"],
}
_COMPARISONS = {"maximum": "<=", "minimum": ">=", "exclusiveMaximum": "<", "exclusiveMinimum": ">"}


@dataclass
class SchemaError:
    """One failed keyword, as Ajv reports it."""

    keyword: str
    instance_path: str
    schema_path: str
    message: str
    params: Dict[str, Any] = field(default_factory=dict)
    schema: Any = None


@dataclass(frozen=True)
class SettingsProblem:
    """A setting that does not match its node type's schema: a JSON pointer into the settings, and a sentence."""

    path: str
    message: str


def settings_problems(type_name: str, schema: Mapping[str, Any], settings: Mapping[str, Any]) -> List[SettingsProblem]:
    """The server's ``NodeCatalog.validateSettings`` problems for settings already merged over the defaults."""
    errors: List[SchemaError] = []
    _Validator(errors, schema).validate(schema, settings, "", "#")
    return describe(type_name, schema, errors)


def describe(type_name: str, schema: Mapping[str, Any], errors: Sequence[SchemaError]) -> List[SettingsProblem]:
    """One problem per failed keyword; an ``anyOf`` is described once, by what its branches ask."""
    alternatives = [error for error in errors if error.keyword == "anyOf"]

    def within(error: SchemaError, any_of: SchemaError) -> bool:
        return error is not any_of and error.schema_path.startswith(any_of.schema_path + "/")

    problems: List[SettingsProblem] = []
    for error in errors:
        if any(within(error, any_of) for any_of in alternatives):
            continue
        if error.keyword == "anyOf":
            problems.append(_describe_alternatives(error, [other for other in errors if within(other, error)]))
        else:
            problems.append(_describe_error(type_name, schema, error))
    return problems


def _describe_alternatives(any_of: SchemaError, branch_errors: List[SchemaError]) -> SettingsProblem:
    path = any_of.instance_path
    branches = [branch for branch in any_of.schema if isinstance(branch, Mapping)] if isinstance(any_of.schema, list) else []
    bindable = any(branch.get("type") == "string" and branch.get("pattern") == BINDING_PATTERN for branch in branches)
    kinds = [js_string(branch["type"]) for branch in branches if "type" in branch and not (bindable and branch["type"] == "string")]
    specific = next((error for error in branch_errors if error.keyword != "type" and not _is_binding_pattern(error)), None)
    if specific is not None:
        return SettingsProblem(path, f"{_label(path)} {specific.message}{' (or be a binding)' if bindable else ''}.")
    expected = [f"a{'n' if re.match('[aeiou]', kind) else ''} {kind}" for kind in kinds]
    if bindable:
        expected.append('a binding such as "{{ trigger.value }}"')
    return SettingsProblem(path, f"{_label(path)} must be {' or '.join(expected) or 'one of the allowed kinds of value'}.")


def _is_binding_pattern(error: SchemaError) -> bool:
    return error.keyword == "pattern" and error.params.get("pattern") == BINDING_PATTERN


def _describe_error(type_name: str, schema: Mapping[str, Any], error: SchemaError) -> SettingsProblem:
    if error.keyword == "required":
        path = f"{error.instance_path}/{escape_pointer(str(error.params['missingProperty']))}"
        return SettingsProblem(path, f'Setting "{path}" is required.')
    if error.keyword == "additionalProperties":
        path = f"{error.instance_path}/{escape_pointer(str(error.params['additionalProperty']))}"
        properties = schema.get("properties")
        known = js_keys(properties) if error.instance_path == "" and isinstance(properties, Mapping) else []
        hint = f" (known settings: {', '.join(f'{chr(34)}{name}{chr(34)}' for name in known)})" if known else ""
        return SettingsProblem(path, f'Setting "{path}" is not a setting of node type "{type_name}"{hint}.')
    if error.keyword == "enum":
        allowed = ", ".join(js_stringify(value) for value in error.params["allowedValues"])
        return SettingsProblem(error.instance_path, f"{_label(error.instance_path)} must be one of {allowed}.")
    return SettingsProblem(error.instance_path, f"{_label(error.instance_path)} {error.message}.")


def _label(path: str) -> str:
    return "Settings" if path == "" else f'Setting "{path}"'


class _Validator:
    """Walks a schema and a value the way Ajv's generated code does, appending its errors in its order."""

    def __init__(self, errors: List[SchemaError], document: Any) -> None:
        self.errors = errors
        #: The schema document that ``#`` refers to where this validator is.
        self.document = document

    def validate(self, schema: Any, data: Any, ipath: str, spath: str) -> None:
        if schema is False:
            self.errors.append(SchemaError("false schema", ipath, spath, "boolean schema is false"))
            return
        if not isinstance(schema, Mapping):
            return
        declared = schema.get("type")
        types: List[str] = [declared] if isinstance(declared, str) else [t for t in declared if isinstance(t, str)] if isinstance(declared, list) else []
        # Ajv checks the type up front, unless it is one type whose group of keywords the schema uses:
        # then the type error comes in that group's place.
        up_front = bool(types) and not (len(types) == 1 and self._uses_group(schema, types[0]))
        if up_front and not any(is_type(data, t) for t in types):
            self._type_error(types, ipath, spath)
        for group, keywords in _GROUPS.items():
            present = [keyword for keyword in keywords if keyword in schema]
            if not present:
                continue
            if group == "" or is_type(data, group):
                for keyword in present:
                    self._keyword(keyword, schema, data, ipath, spath)
            elif not up_front and types == [group]:
                self._type_error(types, ipath, spath)

    @staticmethod
    def _uses_group(schema: Mapping[str, Any], type_name: str) -> bool:
        return type_name in _GROUPS and type_name != "" and any(keyword in schema for keyword in _GROUPS[type_name])

    def _type_error(self, types: List[str], ipath: str, spath: str) -> None:
        joined = ",".join(types)
        self.errors.append(SchemaError("type", ipath, f"{spath}/type", f"must be {joined}", {"type": joined}))

    def _keyword(self, keyword: str, schema: Mapping[str, Any], data: Any, ipath: str, spath: str) -> None:
        value = schema[keyword]
        here = f"{spath}/{keyword}"

        def error(message: str, **params: Any) -> None:
            self.errors.append(SchemaError(keyword, ipath, here, message, params, value))

        if keyword == "$ref" and isinstance(value, str):
            self._ref(value, data, ipath)
        elif keyword in _COMPARISONS and _is_number(value):
            comparison = _COMPARISONS[keyword]
            holds = {"<=": data <= value, ">=": data >= value, "<": data < value, ">": data > value}[comparison]
            if not holds:
                error(f"must be {comparison} {js_string(value)}", comparison=comparison, limit=value)
        elif keyword == "multipleOf" and _is_number(value) and value > 0:
            quotient = data / value
            if not math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9 * max(1.0, abs(quotient))):
                error(f"must be multiple of {js_string(value)}", multipleOf=value)
        elif keyword in ("maxLength", "minLength") and _is_number(value):
            length = _ucs2_length(data)
            if (length > value) if keyword == "maxLength" else (length < value):
                error(f"must NOT have {'more' if keyword == 'maxLength' else 'fewer'} than {js_string(value)} characters", limit=value)
        elif keyword == "pattern" and isinstance(value, str):
            compiled = js_regex(value)
            if compiled is not None and compiled.search(data) is None:
                error(f'must match pattern "{value}"', pattern=value)
        elif keyword in ("maxItems", "minItems") and _is_number(value):
            if (len(data) > value) if keyword == "maxItems" else (len(data) < value):
                error(f"must NOT have {'more' if keyword == 'maxItems' else 'fewer'} than {js_string(value)} items", limit=value)
        elif keyword in ("maxProperties", "minProperties") and _is_number(value):
            if (len(data) > value) if keyword == "maxProperties" else (len(data) < value):
                error(f"must NOT have {'more' if keyword == 'maxProperties' else 'fewer'} than {js_string(value)} properties", limit=value)
        elif keyword == "uniqueItems" and value is True:
            pair = _duplicate_pair(data, schema.get("items"))
            if pair is not None:
                i, j = pair
                error(f"must NOT have duplicate items (items ## {j} and {i} are identical)", i=i, j=j)
        elif keyword == "items" and isinstance(value, (Mapping, bool)):
            for index, item in enumerate(data):
                self.validate(value, item, f"{ipath}/{index}", here)
        elif keyword == "const":
            if not json_equal(data, value):
                error("must be equal to constant", allowedValue=value)
        elif keyword == "enum" and isinstance(value, list):
            if not any(json_equal(data, allowed) for allowed in value):
                error("must be equal to one of the allowed values", allowedValues=value)
        elif keyword == "not":
            if not self._collect(value, data, ipath, here):
                error("must NOT be valid")
        elif keyword in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            self._combination(keyword, value, data, ipath, here)
        elif keyword == "required" and isinstance(value, list):
            for name in value:
                if isinstance(name, str) and name not in data:
                    error(f"must have required property '{name}'", missingProperty=name)
        elif keyword == "additionalProperties":
            self._additional(schema, data, ipath, spath)
        elif keyword == "properties" and isinstance(value, Mapping):
            for name in js_keys(value):
                if name in data:
                    self.validate(value[name], data[name], f"{ipath}/{escape_pointer(name)}", f"{here}/{escape_pointer(name)}")
        elif keyword == "patternProperties" and isinstance(value, Mapping):
            for pattern in js_keys(value):
                compiled = js_regex(pattern)
                matching = [name for name in js_keys(data) if compiled is not None and compiled.search(name)]
                for name in matching:
                    self.validate(value[pattern], data[name], f"{ipath}/{escape_pointer(name)}", f"{here}/{escape_pointer(pattern)}")

    def _ref(self, ref: str, data: Any, ipath: str) -> None:
        """
        Follows a ``$ref`` within the document (``#``, ``#/definitions/…``) or to the draft-07
        meta-schema; as in Ajv, the errors found there carry schema paths of the referred document.
        Other references are left to the server.
        """
        document, pointer = self.document, ref
        if ref.rstrip("#") == DRAFT_07_ID.rstrip("#"):
            document, pointer = DRAFT_07, "#"
        if not pointer.startswith("#"):
            return
        target: Any = document
        for part in pointer[1:].split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or key not in target:
                return
            target = target[key]
        _Validator(self.errors, document).validate(target, data, ipath, pointer)

    def _collect(self, schema: Any, data: Any, ipath: str, spath: str) -> List[SchemaError]:
        errors: List[SchemaError] = []
        _Validator(errors, self.document).validate(schema, data, ipath, spath)
        return errors

    def _combination(self, keyword: str, branches: List[Any], data: Any, ipath: str, spath: str) -> None:
        if keyword == "allOf":
            for index, branch in enumerate(branches):
                self.validate(branch, data, ipath, f"{spath}/{index}")
            return
        collected: List[SchemaError] = []
        passing: List[int] = []
        for index, branch in enumerate(branches):
            errors = self._collect(branch, data, ipath, f"{spath}/{index}")
            if not errors:
                passing.append(index)
                if keyword == "anyOf":
                    return  # Ajv stops at the first branch that passes and forgets the others' errors.
            collected.extend(errors)
        if keyword == "anyOf":
            self.errors.extend(collected)
            self.errors.append(SchemaError("anyOf", ipath, spath, "must match a schema in anyOf", {}, branches))
        elif len(passing) != 1:
            if not passing:
                self.errors.extend(collected)
            params: Dict[str, Any] = {"passingSchemas": passing or None}
            self.errors.append(SchemaError("oneOf", ipath, spath, "must match exactly one schema in oneOf", params, branches))

    def _additional(self, schema: Mapping[str, Any], data: Mapping[str, Any], ipath: str, spath: str) -> None:
        additional = schema["additionalProperties"]
        properties = schema.get("properties")
        known = set(properties) if isinstance(properties, Mapping) else set()
        patterns = [js_regex(pattern) for pattern in schema.get("patternProperties") or {}]
        here = f"{spath}/additionalProperties"
        for name in js_keys(data):
            if name in known or any(pattern is not None and pattern.search(name) for pattern in patterns):
                continue
            if additional is False:
                message = "must NOT have additional properties"
                self.errors.append(SchemaError("additionalProperties", ipath, here, message, {"additionalProperty": name}, False))
            elif isinstance(additional, Mapping):
                self.validate(additional, data[name], f"{ipath}/{escape_pointer(name)}", here)


def is_type(data: Any, type_name: str) -> bool:
    """JSON Schema's types over Python's JSON values (a bool is no number; 2.0 is an integer)."""
    if type_name == "null":
        return data is None
    if type_name == "boolean":
        return isinstance(data, bool)
    if type_name == "number":
        return _is_number(data) and math.isfinite(data)
    if type_name == "integer":
        return _is_number(data) and math.isfinite(data) and float(data).is_integer()
    if type_name == "string":
        return isinstance(data, str)
    if type_name == "array":
        return isinstance(data, (list, tuple))
    if type_name == "object":
        return isinstance(data, Mapping)
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ucs2_length(text: str) -> int:
    """The length Ajv counts: Unicode code points (its ucs2length pairs surrogates)."""
    return len(text)


def _duplicate_pair(data: Sequence[Any], items: Any) -> Optional[Tuple[int, int]]:
    """The pair Ajv's uniqueItems names first, (i, j) as in its message "items ## j and i"."""
    item_types: List[str] = []
    if isinstance(items, Mapping):
        declared = items.get("type")
        item_types = [declared] if isinstance(declared, str) else list(declared) if isinstance(declared, list) else []
    if item_types and not any(t in ("object", "array") for t in item_types):
        # Scalar items: one pass from the end, remembering where each value was last seen.
        seen: Dict[str, int] = {}
        for i in range(len(data) - 1, -1, -1):
            item = data[i]
            if not any(is_type(item, t) for t in item_types):
                continue
            # The property name JavaScript files the value under; strings get a "_" when other types may share it.
            key = item + ("_" if len(item_types) > 1 else "") if isinstance(item, str) else js_string(item)
            if key in seen:
                return i, seen[key]
            seen[key] = i
        return None
    for i in range(len(data) - 1, -1, -1):
        for j in range(i - 1, -1, -1):
            if json_equal(data[i], data[j]):
                return i, j
    return None


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality of JSON values, where ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and bool(a == b)


def js_string(value: Any) -> str:
    """``String(value)`` in JavaScript, for the numbers and type lists that go into messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{'-' if exponent.startswith('-') else '+'}{exponent.lstrip('+-').lstrip('0') or '0'}"
        return text
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if value is None:
        return "null"
    return str(value)


def js_stringify(value: Any) -> str:
    """``JSON.stringify(value)``: compact, non-ASCII kept, integral floats without ``.0``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if _is_number(value):
        return js_string(value) if math.isfinite(value) else "null"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{js_stringify(value[key])}" for key in js_keys(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


_REGEX_CACHE: Dict[str, Optional["re.Pattern[str]"]] = {}


def js_regex(pattern: str) -> Optional["re.Pattern[str]"]:
    """
    A JavaScript pattern (as Ajv compiles it, flag ``u``) as a Python one: ``[^]`` is any
    character, ``$`` only the very end, ``\\d`` only ASCII digits. None when Python cannot take
    it; that pattern is then left to the server.
    """
    if pattern in _REGEX_CACHE:
        return _REGEX_CACHE[pattern]
    out: List[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            out.append("[0-9]" if escaped == "d" and not in_class else "0-9" if escaped == "d" else pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
        elif pattern.startswith("[^]", index):
            out.append("[\\s\\S]")
            index += 3
            continue
        elif pattern.startswith("[]", index):
            out.append("(?!)")
            index += 2
            continue
        elif char == "[":
            in_class = True
            out.append(char)
            if pattern.startswith("[^", index):
                out.append("^")
                index += 1
        elif char == "$":
            out.append("\\Z")
        else:
            out.append(char)
        index += 1
    try:
        compiled: Optional["re.Pattern[str]"] = re.compile("".join(out))
    except re.error:
        compiled = None
    _REGEX_CACHE[pattern] = compiled
    return compiled
