"""Shared fixtures: a real heron server per test module, and clients for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient

from tests.server import HeronProcess

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave tests/browser out unless it is named on the command line (scripts/test-clients
    runs it; plain ``pytest`` and scripts/test do not)."""
    path = collection_path.resolve()
    if path != BROWSER_TESTS and BROWSER_TESTS not in path.parents:
        return None
    for arg in config.args:
        named = Path(arg.split("::")[0]).resolve()
        if named == BROWSER_TESTS or BROWSER_TESTS in named.parents:
            return None
    return True


@pytest.fixture(scope="module")
def heron(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    """One heron server for the whole test module."""
    storage: Path = tmp_path_factory.mktemp("heron") / "storage"
    server = HeronProcess(storage).start()
    yield server
    code = server.stop()
    assert code == 0, f"heron exited with {code}:\n{server.log()}"


@pytest.fixture()
def client(heron: HeronProcess) -> Iterator[QdrantClient]:
    c = QdrantClient(url=heron.url, prefer_grpc=False, timeout=30)
    yield c
    c.close()


@pytest.fixture()
def http(heron: HeronProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=heron.url, timeout=30) as c:
        yield c


@pytest.fixture()
def collection_name() -> str:
    return "c_" + uuid.uuid4().hex[:12]
