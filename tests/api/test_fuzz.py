"""Schemathesis fuzzing of the live API from heron's own ``/openapi.json``.

Every operation gets schema-valid (positive) and schema-invalid (negative) requests aimed at a
real collection (``{collection_name}`` is pinned to it; collection create/delete go to a scratch
name). Asserted: no 5xx and no network error, the server still answers afterwards, and a write
refused with a 4xx changed nothing (points, payload indexes and config compared before/after).
After a successful write the collection is rebuilt when it differs from the seed, so every
case starts from the same data.

``HERON_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 4, a CI-sized run);
``HERON_FUZZ_CONFORMANCE=1`` also tallies schemathesis' response conformance checks (reported,
not asserted). Run long and see the figures with:

    HERON_FUZZ_EXAMPLES=200 .venv/bin/python -m pytest tests/api/test_fuzz.py -s
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server import HeronProcess

EXAMPLES = int(os.environ.get("HERON_FUZZ_EXAMPLES", "4"))
DERANDOMIZE = "HERON_FUZZ_EXAMPLES" not in os.environ
"""The CI-sized run is the same every time; a long run explores afresh."""
CONFORMANCE = os.environ.get("HERON_FUZZ_CONFORMANCE", "") not in ("", "0")
COLLECTION = "fuzz"
SCRATCH = "fuzz_scratch"
C = "/collections/{collection_name}"
SCRATCH_OPS = {("PUT", C), ("DELETE", C)}
"""Operations that create or drop the collection itself: pointed at a scratch name."""
WRITES = {
    ("PATCH", C), ("PUT", C + "/index"), ("DELETE", C + "/index/{field_name}"),
    ("PUT", C + "/points"), ("POST", C + "/points/delete"), ("POST", C + "/points/payload"),
    ("PUT", C + "/points/payload"), ("POST", C + "/points/payload/delete"),
    ("POST", C + "/points/payload/clear"), ("PUT", C + "/points/vectors"),
    ("POST", C + "/points/vectors/delete"), ("POST", C + "/points/batch"),
}
SEED_POINTS = [
    {"id": 1, "vector": [0.1, 0.9, 0.3, 0.2], "payload": {"city": "Berlin", "n": 1}},
    {"id": 2, "vector": [0.8, 0.1, 0.4, 0.1], "payload": {"city": ["Paris", "Lyon"], "n": 2.5}},
    {"id": 3, "vector": [0.2, 0.8, 0.2, 0.3], "payload": {"nested": {"a": [1, 2]}, "ok": True}},
    {"id": 4, "vector": [0.5, 0.5, 0.5, 0.5], "payload": {}},
    {"id": "6f1e9a3c-1c1b-4e7e-9b1a-2a7f9c0d5e11", "vector": [0.3, 0.1, 0.9, 0.4],
     "payload": {"city": "Rome", "tags": ["a", "b"]}},
]


@dataclass
class Tally:
    """What the run saw; ``problems`` are the asserted failures."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    fivexx_kinds: Counter[str] = field(default_factory=Counter)
    conformance: Counter[str] = field(default_factory=Counter)
    conformance_examples: dict[str, str] = field(default_factory=dict)
    restores: int = 0


class Target:
    """The live server and the fuzzed collection, with snapshot and restore."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self.seed_state: Any = None

    def rebuild(self) -> None:
        self.http.delete(f"/collections/{COLLECTION}")
        self.http.put(f"/collections/{COLLECTION}",
                      json={"vectors": {"size": 4, "distance": "Dot"}}).raise_for_status()
        self.http.put(f"/collections/{COLLECTION}/index?wait=true",
                      json={"field_name": "city", "field_schema": "keyword"}).raise_for_status()
        self.http.put(f"/collections/{COLLECTION}/points?wait=true",
                      json={"points": SEED_POINTS}).raise_for_status()
        self.seed_state = self.snapshot()

    def barrier(self) -> None:
        """A no-op write with wait=true: earlier wait=false writes are applied once it returns."""
        self.http.post(f"/collections/{COLLECTION}/points/delete?wait=true",
                       json={"points": [987_654_321]})

    def snapshot(self) -> Any:
        """Points (payload and vectors), payload indexes and config of the fuzzed collection."""
        info = self.http.get(f"/collections/{COLLECTION}")
        if info.status_code != 200:
            return ("missing", info.status_code)
        points = self.http.post(f"/collections/{COLLECTION}/points/scroll",
                                json={"limit": 10_000, "with_payload": True,
                                      "with_vector": True})
        result = info.json()["result"]
        return (points.json()["result"]["points"], result["payload_schema"], result["config"])


def describe(case: Any, response: Any) -> str:
    body = "" if case.body is None or type(case.body).__name__ == "NotSet" else case.body
    text = response.text if response is not None else ""
    status = response.status_code if response is not None else "no response"
    return (f"{case.method} {case.formatted_path} query={case.query} "
            f"body={json.dumps(body, default=str)[:600]} -> {status} {text[:400]}")


def run_case(target: Target, tally: Tally, case: Any, label: str) -> None:
    key = (case.method.upper(), case.path)
    is_write = key in WRITES
    before = target.seed_state if is_write else None
    tally.requests += 1
    tally.per_operation[label] += 1
    try:
        response = case.call(base_url=target.url, timeout=30)
    except requests.RequestException as exc:
        tally.problems.append(f"network error ({exc!r}): {describe(case, None)}")
        return
    status = response.status_code
    tally.statuses[status] += 1
    if status >= 500:
        tally.fivexx_kinds[f"{label}: {response.text[:90]}"] += 1
        tally.problems.append(f"5xx: {describe(case, response)}")
    if CONFORMANCE:
        try:
            case.validate_response(response, checks=[
                status_code_conformance, content_type_conformance, response_schema_conformance,
                negative_data_rejection, positive_data_acceptance,
            ])
        except FailureGroup as group:
            for failure in group.exceptions:
                name = f"{label}: {failure.title}"
                tally.conformance[name] += 1
                tally.conformance_examples.setdefault(name, describe(case, response))
    if is_write or key in SCRATCH_OPS:
        if 200 <= status < 300:
            target.barrier()
        after = target.snapshot()
        if is_write and 400 <= status < 500 and after != before:
            tally.problems.append(f"refused write changed data: {describe(case, response)}")
        if after != target.seed_state:
            tally.restores += 1
            target.rebuild()


def fuzz_operation(target: Target, tally: Tally, operation: Any, mode: GenerationMode) -> None:
    scratch = (operation.method.upper(), operation.path) in SCRATCH_OPS
    pinned = {"collection_name": SCRATCH if scratch else COLLECTION}
    if "{collection_name}" not in operation.path:
        pinned = {}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned or None)
    label = f"{operation.method.upper()} {operation.path}"

    @given(strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
        verbosity=Verbosity.quiet,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        run_case(target, tally, case, label)

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        pass  # e.g. nothing negative to generate for an operation without inputs


@pytest.mark.timeout(240 + EXAMPLES * 20)
def test_fuzz_the_api(heron: HeronProcess) -> None:
    target = Target(heron.url)
    target.rebuild()
    schema = schemathesis.openapi.from_url(heron.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    tally = Tally()
    started = time.perf_counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(target, tally, operation, mode)
    took = time.perf_counter() - started

    alive = httpx.get(heron.url + "/", timeout=10)
    fivexx = sum(n for s, n in tally.statuses.items() if s >= 500)
    summary = (f"fuzz: examples/op/mode={EXAMPLES} operations={len(operations)} "
               f"requests={tally.requests} 5xx={fivexx} "
               f"problems={len(tally.problems)} "
               f"restores={tally.restores} seconds={took:.1f} "
               f"statuses={dict(sorted(tally.statuses.items()))}")
    print("\n" + summary)
    for name, n in tally.conformance.most_common():
        print(f"conformance {n:5d}  {name}\n        e.g. {tally.conformance_examples[name]}")
    for kind, n in tally.fivexx_kinds.most_common():
        print(f"5xx {n:5d}  {kind}")
    for problem in tally.problems[:50]:
        print("PROBLEM", problem)
    assert heron.proc is not None and heron.proc.poll() is None, "the server died"
    assert alive.status_code == 200
    assert tally.requests >= len(operations) * EXAMPLES
    assert not tally.problems, "\n".join(tally.problems[:20])

