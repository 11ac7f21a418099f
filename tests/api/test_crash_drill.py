"""The crash drill (scripts/crash_drill.py), a few short cycles: no acknowledged operation
lost (one writer sends over gRPC), no in-flight batch half applied, the server restarts every
time."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _drill_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_drill", ROOT / "scripts" / "crash_drill.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_drill", module)
    spec.loader.exec_module(module)
    return module


def test_short_crash_drill(tmp_path: Path) -> None:
    drill = _drill_module()
    args = drill.parse_args([
        "--cycles", "3", "--seconds-per-cycle", "1.5", "--writers", "3",
        "--ids-per-writer", "300", "--grpc-writers", "1", "--seed", "7",
        "--storage", str(tmp_path),
    ])
    messages: list[str] = []
    summary = drill.run_drill(args, report=messages.append)
    detail = "\n".join(messages)
    assert summary.restarts_ok == 3, detail
    assert summary.cycles == 3, detail
    assert summary.acknowledged_ops > 30, "writers acknowledged too little to prove anything"
    assert summary.grpc_acknowledged_ops > 0, "the gRPC writer acknowledged nothing"
    assert summary.lost == 0, detail
    assert summary.torn == 0, detail
    assert summary.count_mismatch == 0, detail
    assert not summary.errors, detail
    assert summary.ok
