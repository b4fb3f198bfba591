"""Drift: every operation of the server's OpenAPI document is an SDK route, used by the sync and the async client."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set, Tuple

import httpx

import tensorify
from tensorify._routes import all_routes

from .support import Server

PACKAGE = Path(tensorify.__file__).parent
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def served_operations(server: Server) -> Set[Tuple[str, str]]:
    document = httpx.get(server.root + "/docs-json", timeout=30).json()
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}


def routes_used_by_classes() -> Dict[str, Set[str]]:
    """Route constant names used (``routes.NAME``) in each kind of class: ``sync`` and ``async``."""
    used: Dict[str, Set[str]] = {"sync": set(), "async": set()}
    for source in [*PACKAGE.joinpath("resources").glob("*.py"), PACKAGE / "_logs.py"]:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ClassDef):
                kind = "async" if node.name.startswith("Async") else "sync"
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id == "routes":
                        used[kind].add(inner.attr)
    return used


def test_every_operation_of_the_server_is_an_sdk_route(server: Server) -> None:
    sdk = {(route.method, route.path) for route in all_routes()}
    served = served_operations(server)
    assert served - sdk == set(), "operations the SDK does not cover"
    assert sdk - served == set(), "SDK routes the server does not have"


def test_every_route_is_used_by_the_sync_and_the_async_client() -> None:
    from tensorify import _routes

    names = {name for name, value in vars(_routes).items() if isinstance(value, _routes.Route)}
    used = routes_used_by_classes()
    assert names - used["sync"] == set(), "routes no sync resource calls"
    assert names - used["async"] == set(), "routes no async resource calls"
