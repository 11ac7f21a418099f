"""Parse a formula query (Qdrant's ``Expression``) into a tree of ``Node``s, checked up front.

An expression is a number, a string (``$score``, ``$score[i]`` or a payload key), a filter
condition (1 where it holds, 0 elsewhere) or an object with one operator key: ``mult``, ``sum``,
``neg``, ``abs``, ``div``, ``sqrt``, ``pow``, ``exp``, ``log10``, ``ln``, ``geo_distance``,
``datetime``, ``datetime_key``, ``lin_decay``, ``exp_decay``, ``gauss_decay``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from collection.errors import BadRequest, format_error
from collection.operations import compile_filter
from segments.filter import parse_datetime
from segments.payload_path import parse_path

UNARY = ("neg", "abs", "sqrt", "exp", "log10", "ln")
DECAYS = {"lin_decay": "lin", "exp_decay": "exp", "gauss_decay": "gauss"}
_SCORE = re.compile(r"\$score(?:\[(\d+)\])?")


@dataclass
class Node:
    """One operator with its operands; ``value`` holds what a leaf needs."""

    op: str
    args: list[Node] = field(default_factory=list)
    value: Any = None


@dataclass
class FormulaSpec:
    """A parsed formula with its ``defaults`` (variable name -> value)."""

    root: Node
    defaults: dict[str, Any]


def _bad(message: str) -> BadRequest:
    return BadRequest(f"Wrong input: {message}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{where} must be a number")
    return float(value)


def parse_formula(formula: Any, defaults: Any) -> FormulaSpec:
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        raise format_error("query.defaults: invalid type: expected an object")
    return FormulaSpec(parse_expression(formula), defaults)


def _variable(name: str) -> Node:
    m = _SCORE.fullmatch(name)
    if m is not None:
        return Node("score", value=(int(m.group(1) or 0), name))
    try:
        path = parse_path(name)
    except ValueError:
        raise _bad(f"failed to parse variable ID {name}: Invalid payload variable: {name}") from None
    return Node("var", value=(name, path))


def _key(name: str) -> tuple[str, Any]:
    try:
        return name, parse_path(name)
    except ValueError:
        raise _bad(f"invalid payload key {name!r}") from None


def _datetime(text: Any) -> float:
    if not isinstance(text, str):
        raise _bad("datetime must be a string")
    micros = parse_datetime(text)
    if micros is None:
        raise _bad(f"failed to parse date-time {text}: input contains invalid characters")
    return micros / 1e6


def _decay(kind: str, spec: Any) -> Node:
    if not isinstance(spec, dict) or "x" not in spec:
        raise _bad(f"{kind}_decay needs `x`")
    scale = 1.0 if spec.get("scale") is None else _number(spec["scale"], "decay scale")
    midpoint = 0.5 if spec.get("midpoint") is None else _number(spec["midpoint"], "decay midpoint")
    if not scale > 0:
        raise _bad(f"Decay scale should be non-zero positive, got {_shown(scale)}.")
    if kind == "lin":
        if not 0.0 <= midpoint <= 1.0:
            raise _bad(
                f"Linear decay midpoint should be in the range [0.0, 1.0], got {_shown(midpoint)}."
            )
    elif not 0.0 < midpoint < 1.0:
        raise _bad(f"Decay midpoint should be in the range (0.0, 1.0), got {_shown(midpoint)}.")
    target = spec.get("target")
    args = [parse_expression(spec["x"]), Node("const", value=0.0) if target is None
            else parse_expression(target)]
    return Node("decay", args, (kind, scale, midpoint))


def _shown(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def parse_expression(expr: Any) -> Node:
    """One ``Expression`` as a ``Node`` (raises ``BadRequest`` with what is wrong)."""
    if isinstance(expr, bool):
        raise _bad("a formula can't hold a boolean")
    if isinstance(expr, int | float):
        if not math.isfinite(expr):
            raise _bad("formula constants must be finite")
        return Node("const", value=float(expr))
    if isinstance(expr, str):
        return _variable(expr)
    if not isinstance(expr, dict):
        raise _bad("an expression must be a number, a string or an object")
    if len(expr) == 1:
        (op, arg), = expr.items()
        if op in ("mult", "sum"):
            if not isinstance(arg, list):
                raise _bad(f"`{op}` takes a list of expressions")
            return Node(op, [parse_expression(e) for e in arg])
        if op in UNARY:
            return Node(op, [parse_expression(arg)])
        if op == "div":
            if not isinstance(arg, dict) or "left" not in arg or "right" not in arg:
                raise _bad("`div` needs `left` and `right`")
            default = arg.get("by_zero_default")
            if default is not None:
                default = _number(default, "by_zero_default")
            return Node("div", [parse_expression(arg["left"]), parse_expression(arg["right"])],
                        default)
        if op == "pow":
            if not isinstance(arg, dict) or "base" not in arg or "exponent" not in arg:
                raise _bad("`pow` needs `base` and `exponent`")
            return Node("pow", [parse_expression(arg["base"]), parse_expression(arg["exponent"])])
        if op in DECAYS:
            return _decay(DECAYS[op], arg)
        if op == "datetime":
            return Node("const", value=_datetime(arg))
        if op == "datetime_key":
            if not isinstance(arg, str):
                raise _bad("datetime_key must be a payload key")
            return Node("dtkey", value=_key(arg))
        if op == "geo_distance":
            return _geo(arg)
    # anything else is a filter condition
    return Node("cond", value=compile_filter({"must": [expr]}))


def _geo(arg: Any) -> Node:
    if not isinstance(arg, dict) or "origin" not in arg or not isinstance(arg.get("to"), str):
        raise _bad("`geo_distance` needs `origin` and `to`")
    origin = arg["origin"]
    if not isinstance(origin, dict) or "lon" not in origin or "lat" not in origin:
        raise _bad("geo_distance.origin must be {lon, lat}")
    lon, lat = _number(origin["lon"], "origin.lon"), _number(origin["lat"], "origin.lat")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _bad("geo_distance.origin is out of range")
    return Node("geo", value=(lon, lat, _key(arg["to"])))
