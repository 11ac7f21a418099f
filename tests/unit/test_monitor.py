"""Pieces of the observability layer that need no server: the Prometheus writer, response
statistics, endpoint names and the optimizer's progress tree."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from optimizer.progress import Tracker, segment_uuid
from server.monitor.metrics import Family, response_families
from server.monitor.stats import BUCKETS, ResponseStats
from server.rest.access import endpoint_template


def test_labels_are_escaped_and_parse_back() -> None:
    odd = 'a "quoted" \\ back\nslash'
    fam = Family("heron_thing", "gauge", "a test family").add(1.5, collection=odd)
    (parsed,) = text_string_to_metric_families(fam.render() + "\n")
    assert parsed.samples[0].labels == {"collection": odd}
    assert parsed.samples[0].value == 1.5


def test_histogram_buckets_are_cumulative() -> None:
    stats = ResponseStats("rest")
    for seconds in (0.0005, 0.003, 0.003, 0.4, 20.0):
        stats.record("/x", 200, seconds, "GET")
    stats.record("/x", 404, 0.001, "GET")
    text = "\n".join(f.render() for f in response_families(stats)) + "\n"
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    hist = fams["rest_responses_duration_seconds"].samples
    ok = {s.labels["le"]: s.value for s in hist
          if s.name.endswith("_bucket") and s.labels["status"] == "200"}
    assert [ok[repr(float(b))] for b in BUCKETS] == [1, 3, 3, 3, 3, 3, 4, 4, 4, 4]
    assert ok["+Inf"] == 5
    fails = {s.labels["status"]: s.value for s in fams["rest_responses_fail"].samples}
    assert fails == {"200": 0, "404": 1}


def test_endpoint_names_follow_qdrant() -> None:
    assert endpoint_template("/collections/<collection_name>/points/<id>") == \
        "/collections/{name}/points/{id}"
    assert endpoint_template("/collections/<collection_name>/index/<path:field_name>") == \
        "/collections/{name}/index/{field_name}"


def test_progress_tree_and_counters() -> None:
    tracker = Tracker("c")
    opt = tracker.begin("index", [(3, 1200)])
    assert opt.segments == [{"uuid": segment_uuid(3), "points_count": 1200}]
    opt.report("vector_index: v", 600, 1200)
    step = opt.to_json()["progress"]["children"][0]
    assert (step["name"], step["done"], step["total"]) == ("vector_index: v", 600, 1200)
    assert "finished_at" not in step
    opt.report("vector_index: v", 1200, 1200)
    tracker.end(opt)
    assert not tracker.running and tracker.completed[0] is opt
    assert opt.to_json()["status"] == "done"
    assert tracker.runs["indexing"] == 1 and tracker.failures["indexing"] == 0
    failed = tracker.begin("merge", [(1, 5), (2, 6)])
    tracker.end(failed, {"error": "boom"})
    assert tracker.failures["merge"] == 1 and tracker.completed[0] is failed
