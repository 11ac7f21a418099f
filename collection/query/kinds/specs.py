"""What the planner makes of the vector-example query kinds: their request shapes, checked.

``recommend`` (average_vector becomes one averaged vector searched like ``nearest``; best_score
and sum_scores score every candidate against all examples), ``discover``, ``context`` and
``relevance_feedback`` all name examples as vectors or point ids; ``nearest`` may carry
``mmr``; ``sample`` has no parameters. Shapes follow Qdrant's REST ``Query`` schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collection.errors import BadRequest, format_error, invalid
from segments.ids import PointId, normalize_id

RECOMMEND_STRATEGIES = ("average_vector", "best_score", "sum_scores")
MMR_MAX_CANDIDATES = 16_384


@dataclass
class VectorRef:
    """An example: a vector given inline, or the id of a stored point whose vector is used."""

    vector: Any = None
    point_id: PointId | None = None


@dataclass
class Average:
    """recommend with average_vector: search by ``avg(pos) + avg(pos) - avg(neg)``."""

    positives: list[VectorRef]
    negatives: list[VectorRef]


@dataclass
class Examples:
    """A query scoring each candidate by its similarities to several examples.

    ``kind`` is ``best_score``, ``sum_scores``, ``discover``, ``context`` or ``feedback``.
    """

    kind: str
    positives: list[VectorRef] = field(default_factory=list)
    negatives: list[VectorRef] = field(default_factory=list)
    target: VectorRef | None = None
    pairs: list[tuple[VectorRef, VectorRef]] = field(default_factory=list)
    feedback: list[tuple[VectorRef, float]] = field(default_factory=list)
    coefficients: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def refs(self) -> list[VectorRef]:
        """Every example, in a fixed order (the scorer reads them back in this order)."""
        out = [*self.positives, *self.negatives]
        if self.target is not None:
            out.append(self.target)
        for pos, neg in self.pairs:
            out += [pos, neg]
        out += [ref for ref, _ in self.feedback]
        return out


@dataclass
class Mmr:
    """Maximal Marginal Relevance over the ``candidates`` best points (``None``: the limit)."""

    diversity: float = 0.5
    candidates: int | None = None


@dataclass
class Sample:
    """Random order (``sample: random``)."""


def vector_ref(value: Any, where: str) -> VectorRef:
    """A ``VectorInput``: a point id (integer or UUID string) or a vector."""
    if isinstance(value, bool) or value is None:
        raise _not_a_vector(where)
    if isinstance(value, int | str):
        try:
            return VectorRef(point_id=normalize_id(value))
        except ValueError as exc:
            raise BadRequest(f"Wrong input: {exc}") from None
    if isinstance(value, list | dict):
        return VectorRef(vector=value)
    raise _not_a_vector(where)


def _not_a_vector(where: str) -> BadRequest:
    """What serde says of a value that is neither a vector nor a point id (400)."""
    return format_error(f"query.{where}: data did not match any variant of untagged enum "
                        "VectorInput (expected a vector or a point id)")


def _ref_list(value: Any, where: str) -> list[VectorRef]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise format_error(
            f"query.{where}: invalid type: expected a list of vectors or point ids"
        )
    return [vector_ref(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise format_error(f"query.{where}: invalid type: expected an object")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise format_error(f"query.{where}: invalid type: expected a number")
    return float(value)


def recommend(spec: Any) -> Average | Examples:
    spec = _object(spec, "recommend")
    positives = _ref_list(spec.get("positive"), "recommend.positive")
    negatives = _ref_list(spec.get("negative"), "recommend.negative")
    strategy = spec.get("strategy") or "average_vector"
    if strategy not in RECOMMEND_STRATEGIES:
        raise format_error(
            f"query.recommend.strategy: unknown variant `{strategy}`, expected one of "
            "`average_vector`, `best_score`, `sum_scores`"
        )
    if strategy == "average_vector":
        if not positives:
            raise BadRequest(
                "Wrong input: Positive vectors should not be empty with `average` strategy"
            )
        return Average(positives, negatives)
    if not positives and not negatives:
        raise BadRequest(
            "Wrong input: At least one positive or negative example is required for recommend"
        )
    return Examples(strategy, positives=positives, negatives=negatives)


def _pairs(value: Any, where: str) -> list[tuple[VectorRef, VectorRef]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, pair in enumerate(items):
        pair = _object(pair, f"{where}[{i}]")
        for key in ("positive", "negative"):
            if key not in pair:
                raise format_error(f"query.{where}[{i}]: missing field `{key}`")
        out.append((vector_ref(pair["positive"], f"{where}[{i}].positive"),
                    vector_ref(pair["negative"], f"{where}[{i}].negative")))
    return out


def discover(spec: Any) -> Examples:
    spec = _object(spec, "discover")
    if "target" not in spec:
        raise format_error("query.discover: missing field `target`")
    return Examples(
        "discover",
        target=vector_ref(spec["target"], "discover.target"),
        pairs=_pairs(spec.get("context"), "discover.context"),
    )


def context(spec: Any) -> Examples:
    return Examples("context", pairs=_pairs(spec, "context"))


def feedback(spec: Any) -> Examples:
    spec = _object(spec, "relevance_feedback")
    for key in ("target", "feedback", "strategy"):
        if key not in spec:
            raise format_error(f"query.relevance_feedback: missing field `{key}`")
    items = spec["feedback"]
    if not isinstance(items, list):
        raise format_error("query.relevance_feedback.feedback: invalid type: expected a list")
    parsed = []
    for i, item in enumerate(items):
        item = _object(item, f"relevance_feedback.feedback[{i}]")
        for key in ("example", "score"):
            if key not in item:
                raise format_error(
                    f"query.relevance_feedback.feedback[{i}]: missing field `{key}`"
                )
        parsed.append((vector_ref(item["example"], f"relevance_feedback.feedback[{i}].example"),
                       _number(item["score"], f"relevance_feedback.feedback[{i}].score")))
    strategy = _object(spec["strategy"], "relevance_feedback.strategy")
    naive = strategy.get("naive")
    if set(strategy) != {"naive"} or not isinstance(naive, dict):
        kind = next(iter(strategy), "")
        raise format_error(
            f"query.relevance_feedback.strategy: unknown variant `{kind}`, expected `naive`"
        )
    where = "relevance_feedback.strategy.naive"
    for key in ("a", "b", "c"):
        if key not in naive:
            raise format_error(f"query.{where}: missing field `{key}`")
    a, b, c = (_number(naive[k], f"{where}.{k}") for k in ("a", "b", "c"))
    if b < 0:  # ``b`` has ``minimum: 0``: Qdrant's validation stage (422)
        raise invalid(f"query.{where}.b", f"value {naive['b']} invalid, must be 0 or larger")
    return Examples(
        "feedback",
        target=vector_ref(spec["target"], "relevance_feedback.target"),
        feedback=parsed,
        coefficients=(a, b, c),
    )


def mmr(spec: Any) -> Mmr | None:
    if spec is None:
        return None
    spec = _object(spec, "mmr")
    diversity = spec.get("diversity")
    diversity = 0.5 if diversity is None else _number(diversity, "mmr.diversity")
    raw = spec.get("diversity")
    if diversity < 0.0:  # ``minimum: 0, maximum: 1``: Qdrant's validation stage (422)
        raise invalid("query.mmr.diversity", f"value {raw} invalid, must be 0 or larger")
    if diversity > 1.0:
        raise invalid("query.mmr.diversity", f"value {raw} invalid, must be 1 or smaller")
    limit = spec.get("candidates_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise format_error(
            f"query.mmr.candidates_limit: invalid value {limit!r}, expected an unsigned integer"
        )
    if limit is not None and limit > MMR_MAX_CANDIDATES:
        raise invalid("query.mmr.candidates_limit",
                      f"value {limit} invalid, must be {MMR_MAX_CANDIDATES} or smaller")
    return Mmr(diversity, limit)


def sample(spec: Any) -> Sample:
    if spec != "random":
        raise format_error(f"query.sample: unknown variant `{spec}`, expected `random`")
    return Sample()
