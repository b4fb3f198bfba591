"""Fixtures: one real server for the session, clients of it, and a fresh workflow per test."""

from __future__ import annotations

import shutil
from typing import Any, Dict, Iterator

import pytest

from tensorify import Tensorify

from .support import ADMIN_KEY, HELLO, FaultProxy, Server, make_temp_dir, start_server


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    data_dir = make_temp_dir("tensorify-sdk-tests-")
    started = start_server(data_dir)
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def client(server: Server) -> Iterator[Tensorify]:
    with Tensorify(api_key=ADMIN_KEY, base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def hello() -> Dict[str, Any]:
    return {**HELLO, "nodes": [dict(node) for node in HELLO["nodes"]], "edges": [dict(edge) for edge in HELLO["edges"]]}


@pytest.fixture
def proxy(server: Server) -> Iterator[FaultProxy]:
    started = FaultProxy(server.root).start()
    try:
        yield started
    finally:
        started.stop()
