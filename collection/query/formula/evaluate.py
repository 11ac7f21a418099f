"""Evaluate a parsed formula over a stage's candidates, every operator in one numpy call.

Each node yields the values of all candidates plus, per candidate, the error it hit (0: none).
Errors follow Qdrant's evaluation order: ``mult`` stops at a zero factor and ``div`` with a zero
numerator is 0, so what comes after is never evaluated for that point. A candidate whose value
can't be computed (a missing variable without a default, a non-number, a non-finite result)
fails the whole query with a 400 naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from collection.errors import BadRequest
from collection.query.formula.parse import FormulaSpec, Node
from collection.query.results import Location
from segments.filter import Filter, mask_at, parse_datetime
from segments.filter.values import haversine
from segments.ids import PointId
from segments.payload_path import values_at

Value = tuple[np.ndarray, np.ndarray]  # (float64 values, int error codes: 0 = fine)


def missing_message(name: str) -> str:
    return f"No value found in a payload nor defaults for variable `{name}`"


class _Missing:
    """A variable with neither a payload value nor a default."""

    def __init__(self, message: str) -> None:
        self.message = message


class _Evaluator:
    def __init__(
        self,
        spec: FormulaSpec,
        ids: Sequence[PointId],
        locs: Sequence[Location],
        prefetch_scores: Sequence[dict[PointId, float]],
    ) -> None:
        self.spec = spec
        self.ids = ids
        self.locs = locs
        self.prefetch = prefetch_scores
        self.n = len(ids)
        self.errors: list[str] = [""]
        self._payloads: list[Any] | None = None

    # --- helpers ----------------------------------------------------------------------------
    def payloads(self) -> list[Any]:
        if self._payloads is None:
            self._payloads = [seg.payload_of(off) for seg, off in self.locs]
        return self._payloads

    def error(self, message: str) -> int:
        self.errors.append(message)
        return len(self.errors) - 1

    def ok(self, values: np.ndarray) -> Value:
        return values.astype(np.float64, copy=False), np.zeros(self.n, dtype=np.int64)

    def checked(self, values: np.ndarray, err: np.ndarray, what: str) -> Value:
        """Mark non-finite results as errors (where no earlier error stands)."""
        with np.errstate(all="ignore"):
            bad = ~np.isfinite(values) & (err == 0)
        if bad.any():
            err = err.copy()
            err[bad] = self.error(f"The formula produced a non-finite number in `{what}`")
        return values, err

    def _default(self, name: str) -> Any:
        return self.spec.defaults.get(name)

    def _number_of(self, name: str, found: list[Any]) -> float | str:
        """A number, or the error text for it."""
        if not found:
            default = self._default(name)
            if default is None:
                return missing_message(name)
            found = default if isinstance(default, list) else [default]
        if len(found) == 1 and isinstance(found[0], int | float) and not isinstance(found[0], bool):
            return float(found[0])
        return (f"Expected a number for variable `{name}` in the payload or the formula "
                f"defaults, got {json.dumps(found if len(found) != 1 else found[0])}")

    def per_point(self, pick: Any) -> Value:
        """Values from each candidate's payload; ``pick`` returns a number or an error text."""
        values = np.zeros(self.n, dtype=np.float64)
        err = np.zeros(self.n, dtype=np.int64)
        codes: dict[str, int] = {}
        for i, payload in enumerate(self.payloads()):
            got = pick(payload)
            if isinstance(got, str):
                code = codes.get(got)
                if code is None:
                    code = codes[got] = self.error(got)
                err[i] = code
            else:
                values[i] = got
        return values, err

    # --- operators --------------------------------------------------------------------------
    def eval(self, node: Node) -> Value:
        op = node.op
        if op == "const":
            return self.ok(np.full(self.n, node.value, dtype=np.float64))
        if op == "score":
            index, name = node.value
            default = self._default(name)
            if default is None and index == 0:
                default = self._default("$score[0]")
            fallback = 0.0 if default is None else float(default)
            scores = self.prefetch[index] if index < len(self.prefetch) else {}
            return self.ok(np.fromiter((scores.get(pid, fallback) for pid in self.ids),
                                       dtype=np.float64, count=self.n))
        if op == "var":
            name, path = node.value
            return self.per_point(lambda p: self._number_of(name, values_at(p, path)))
        if op == "dtkey":
            return self.per_point(lambda p: self._datetime_of(node.value, p))
        if op == "geo":
            return self.per_point(lambda p: self._distance_of(node.value, p))
        if op == "cond":
            return self.ok(self._condition(node.value).astype(np.float64))
        if op == "sum":
            total, err = self.ok(np.zeros(self.n))
            for arg in node.args:
                v, e = self.eval(arg)
                total, err = total + v, np.where(err != 0, err, e)
            return self.checked(total, err, "sum")
        if op == "mult":
            return self._mult(node)
        if op == "div":
            return self._div(node)
        if op == "decay":
            return self._decay(node)
        if op == "pow":
            (b, eb), (x, ex) = self.eval(node.args[0]), self.eval(node.args[1])
            with np.errstate(all="ignore"):
                out = np.power(b, x)
            return self.checked(out, np.where(eb != 0, eb, ex), "pow")
        v, err = self.eval(node.args[0])
        with np.errstate(all="ignore"):
            out = {
                "neg": np.negative, "abs": np.abs, "sqrt": np.sqrt, "exp": np.exp,
                "log10": np.log10, "ln": np.log,
            }[op](v)
        return self.checked(out, err, op)

    def _mult(self, node: Node) -> Value:
        total, err = self.ok(np.ones(self.n))
        for arg in node.args:
            live = total != 0  # a zero factor ends the product for that point
            v, e = self.eval(arg)
            err = np.where((err == 0) & live, e, err)
            with np.errstate(all="ignore"):
                total = np.where(live, total * v, 0.0)
        return self.checked(total, err, "mult")

    def _div(self, node: Node) -> Value:
        (left, el), (right, er) = self.eval(node.args[0]), self.eval(node.args[1])
        zero_left = left == 0
        err = np.where(el != 0, el, np.where(zero_left, 0, er))
        with np.errstate(all="ignore"):
            out = np.where(zero_left, 0.0, left / right)
        bad = ~np.isfinite(out) & (err == 0)
        if bad.any():
            if node.value is not None:
                out = np.where(bad, node.value, out)
            else:
                return self.checked(out, err, "div")
        return out, err

    def _decay(self, node: Node) -> Value:
        kind, scale, midpoint = node.value
        (x, ex), (target, et) = self.eval(node.args[0]), self.eval(node.args[1])
        err = np.where(ex != 0, ex, et)
        dist = np.abs(x - target)
        with np.errstate(all="ignore"):
            if kind == "lin":
                out = np.maximum(0.0, 1.0 - (1.0 - midpoint) / scale * dist)
            elif kind == "exp":
                out = np.exp(np.log(midpoint) / scale * dist)
            else:
                out = np.exp(np.log(midpoint) / (scale * scale) * dist * dist)
        return self.checked(out, err, f"{kind}_decay")

    def _condition(self, compiled: Filter | None) -> np.ndarray:
        if compiled is None:  # an empty filter: true everywhere
            return np.ones(self.n, dtype=bool)
        out = np.zeros(self.n, dtype=bool)
        groups: dict[int, tuple[Any, list[int], list[int]]] = {}
        for i, (seg, off) in enumerate(self.locs):
            entry = groups.setdefault(id(seg), (seg, [], []))
            entry[1].append(i)
            entry[2].append(off)
        for seg, positions, offsets in groups.values():
            out[positions] = mask_at(compiled, seg, np.asarray(offsets, dtype=np.int64))
        return out

    def _first(self, name: str, found: list[Any]) -> Any:
        """The first payload value, else the default, else a ``_Missing`` saying so."""
        if found:
            return found[0]
        default = self._default(name)
        if default is None:
            return _Missing(missing_message(name))
        return default

    def _datetime_of(self, key: tuple[str, Any], payload: Any) -> float | str:
        name, path = key
        value = self._first(name, values_at(payload, path))
        if isinstance(value, _Missing):
            return value.message
        if isinstance(value, str) and (micros := parse_datetime(value)) is not None:
            return micros / 1e6
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return f"Expected a datetime for variable `{name}`, got {json.dumps(value)}"

    def _distance_of(self, spec: tuple[float, float, tuple[str, Any]], payload: Any) -> float | str:
        lon, lat, (name, path) = spec
        point = self._first(name, values_at(payload, path))
        if isinstance(point, _Missing):
            return point.message
        if (
            isinstance(point, dict)
            and all(isinstance(point.get(k), int | float) for k in ("lon", "lat"))
        ):
            return haversine(lon, lat, float(point["lon"]), float(point["lat"]))
        return f"Expected a geo point for variable `{name}`, got {json.dumps(point)}"


def evaluate(
    spec: FormulaSpec,
    ids: Sequence[PointId],
    locs: Sequence[Location],
    prefetch_scores: Sequence[dict[PointId, float]],
) -> np.ndarray:
    """The formula's score of every candidate (float32 precision, as Qdrant reports)."""
    ev = _Evaluator(spec, ids, locs, prefetch_scores)
    values, err = ev.eval(spec.root)
    scores = values.astype(np.float32)
    failed = np.flatnonzero(err)
    if len(failed):
        raise BadRequest(f"Wrong input: {ev.errors[int(err[failed[0]])]}")
    if not np.isfinite(scores).all():
        raise BadRequest("Wrong input: The formula produced a non-finite number")
    return scores.astype(np.float64)
