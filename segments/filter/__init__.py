"""Qdrant's filter language, in parts: ``parse`` (JSON -> the immutable tree of ``model``),
``evaluate`` (a tree over a segment, as a numpy mask) and ``plan`` (condition order, payload
indexes vs a scan, estimates). A request stage parses its effective filter once and hands the
``Filter`` down; segments only ever see the compiled tree.
"""

from segments.filter.evaluate import mask, mask_at
from segments.filter.model import Filter, FilterError
from segments.filter.parse import parse_filter
from segments.filter.plan import estimate
from segments.filter.values import parse_datetime

__all__ = ["Filter", "FilterError", "estimate", "mask", "mask_at", "parse_datetime", "parse_filter"]
