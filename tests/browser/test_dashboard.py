"""The dashboard in a real browser: collections, the point browser, the guide's hybrid query
with its explain diagram, live optimizer progress, and asking for an API key.

Set ``HERON_WRITE_DOCS=1`` to refresh ``docs/explain.png`` (README's screenshot) from the run;
it is written too when missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.server import ROOT, HeronProcess

DIM = 8
CITIES = ["Berlin", "Paris", "Rome", "Oslo"]
DOCS_SHOT = ROOT / "docs" / "explain.png"


def guide_points(n: int, seed: int = 7) -> list[models.PointStruct]:
    """Points with a dense and a sparse vector, as the guide's hybrid example expects."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        indices = sorted({int(x) for x in rng.choice(64, 4, replace=False)} | {(1, 42)[i % 2]})
        out.append(models.PointStruct(
            id=i + 1,
            vector={
                "dense": rng.normal(size=DIM).round(3).tolist(),
                "sparse": models.SparseVector(
                    indices=indices, values=rng.uniform(0.1, 1.0, len(indices)).round(3).tolist()
                ),
            },
            payload={"city": CITIES[i % len(CITIES)], "n": i},
        ))
    return out


@pytest.fixture(scope="module")
def heron(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeronProcess]:
    storage: Path = tmp_path_factory.mktemp("dash") / "storage"
    server = HeronProcess(storage).start()
    client = QdrantClient(url=server.url, timeout=30)
    client.create_collection(
        "guide",
        vectors_config={"dense": models.VectorParams(size=DIM, distance=models.Distance.COSINE)},
        sparse_vectors_config={"sparse": models.SparseVectorParams()},
    )
    client.upsert("guide", guide_points(60))
    client.create_payload_index("guide", "city", models.PayloadSchemaType.KEYWORD)
    client.close()
    yield server
    assert server.stop() == 0, server.log()


def test_collections_list(heron: HeronProcess, page: Any) -> None:
    page.goto(heron.url + "/dashboard")
    row = page.locator('[data-testid=collections-table] tr[data-collection="guide"]')
    row.wait_for()
    assert row.locator("[data-testid=points]").inner_text() == "60"
    assert "green" in row.locator("[data-testid=status]").inner_text()
    text = row.inner_text()
    assert "dense: 8d Cosine" in text and "sparse: sparse" in text and "city: keyword (60)" in text


def test_guide_hybrid_query_draws_its_stages(
    heron: HeronProcess, page: Any, tmp_path: Path
) -> None:
    page.goto(heron.url + "/dashboard/#/query/guide")
    editor = page.locator("[data-testid=query-editor]")
    page.wait_for_function("document.querySelector('[data-testid=query-editor]').value !== ''")
    body = json.loads(editor.input_value())
    assert body["query"] == {"fusion": "rrf"}
    assert [p["using"] for p in body["prefetch"]] == ["sparse", "dense"]
    assert body["prefetch"][0]["query"] == {"indices": [1, 42], "values": [0.22, 0.8]}
    page.click("[data-testid=run-query]")
    diagram = page.locator("[data-testid=explain-diagram]")
    diagram.wait_for()

    want = httpx.post(f"{heron.url}/collections/guide/points/query?explain=true",
                      json=body, timeout=30).json()["result"]
    stages = {st["stage"]: st for st in want["explain"]["stages"]}
    drawn = diagram.locator("g.stage")
    assert sorted(drawn.evaluate_all("els => els.map(e => e.dataset.stage)")) == sorted(stages)
    for label, st in stages.items():
        box = diagram.locator(f'g.stage[data-stage="{label}"]')
        assert box.get_attribute("data-kind") == st["kind"]
        counts = box.locator("text.counts").text_content()
        assert counts == f"candidates {st['candidates']:,} → results {st['results']:,}"
        assert box.locator("text.time").text_content().startswith("time ")
    assert stages["root"]["kind"] == "rrf"
    assert {stages["root.prefetch[0]"]["kind"], stages["root.prefetch[1]"]["kind"]} == {"nearest"}
    assert len(diagram.locator("path.edge").all()) == 2
    using = diagram.locator('g.stage[data-stage="root.prefetch[0]"] text.using').text_content()
    assert using == "using sparse · limit 20"

    ids = [str(p["id"]) for p in want["points"]]
    rows = page.locator("[data-testid=results-table] tr[data-point]")
    assert rows.evaluate_all("els => els.map(e => e.dataset.point)") == ids
    # the first result is selected: its rank and score in every stage it appeared in
    first = want["points"][0]
    root_rank = diagram.locator('g.stage[data-stage="root"] text.rank').text_content()
    assert root_rank.startswith(f"point {first['id']}: rank 0, score ")
    # choose another point: every stage box says where that point was
    second = want["points"][1]
    rows.nth(1).click()
    page.wait_for_function(
        "id => document.querySelector('g.stage[data-stage=\"root\"] text.rank')"
        ".textContent.startsWith(`point ${id}:`)", arg=second["id"])
    for label in stages:
        text = diagram.locator(f'g.stage[data-stage="{label}"] text.rank').text_content()
        hit = second["explain"].get(label)
        if hit is None:
            assert text == f"point {second['id']}: not returned"
            assert "miss" in diagram.locator(f'g.stage[data-stage="{label}"]').get_attribute(
                "class")
        else:
            assert text.startswith(f"point {second['id']}: rank {hit['rank']}, score ")
    table = page.locator("[data-testid=point-stages]")
    assert table.locator('tr[data-stage="root"]').inner_text().split("\t")[2] == "1"

    shot = tmp_path / "explain.png"
    page.locator("main").screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("HERON_WRITE_DOCS") == "1" or not DOCS_SHOT.exists():
        DOCS_SHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS_SHOT)


def test_point_browser_filters_and_shows_vectors(heron: HeronProcess, page: Any) -> None:
    page.goto(heron.url + "/dashboard/#/points/guide")
    page.locator("[data-testid=scroll-results] tr[data-point]").first.wait_for()
    page.fill("[data-testid=scroll-filter]",
              '{"must": [{"key": "city", "match": {"value": "Oslo"}}]}')
    page.click("[data-testid=scroll-run]")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=scroll-results] tr[data-point]')]"
        ".every(r => r.innerText.includes('Oslo'))")
    rows = page.locator("[data-testid=scroll-results] tr[data-point]")
    assert rows.count() == 15  # 60 points, every 4th in Oslo
    rows.first.locator("[data-testid=show-vectors]").click()
    vectors = rows.first.locator("[data-testid=vectors]")
    vectors.wait_for()
    shown = json.loads(vectors.inner_text())
    assert len(shown["dense"]) == DIM and set(shown["sparse"]) == {"indices", "values"}
    page.fill("[data-testid=scroll-filter]", '{"must": [')
    page.click("[data-testid=scroll-run]")
    assert "JSON" in page.locator("[data-testid=error]").inner_text() or \
        page.locator("[data-testid=error]").count() == 1


def test_optimizer_progress_is_live(heron: HeronProcess, page: Any) -> None:
    client = QdrantClient(url=heron.url, timeout=60)
    client.create_collection(
        "big", vectors_config=models.VectorParams(size=48, distance=models.Distance.EUCLID),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0),
        hnsw_config=models.HnswConfigDiff(ef_construct=500, m=48),
    )
    rng = np.random.default_rng(3)
    for start in range(0, 20000, 4000):
        vecs = rng.normal(size=(4000, 48)).astype(np.float32)
        client.upsert("big", models.Batch(ids=list(range(start, start + 4000)),
                                          vectors=vecs.tolist()))
    page.goto(heron.url + "/dashboard/#/collection/big")
    page.locator("[data-testid=optimizer-idle]").wait_for()
    client.update_collection(
        "big", optimizers_config=models.OptimizersConfigDiff(indexing_threshold=100)
    )
    running = page.locator("[data-testid=running-optimization]")
    running.locator('tr[data-step^="vector_index"]').wait_for(timeout=60_000)
    text = running.inner_text()
    assert text.startswith("indexing over 1 segment(s), 20,000 points"), text
    assert re.search(r"vector_index: default\s+[\d,]+ / 20,000 \(\d+%\)", text), text
    page.locator("[data-testid=optimizer-panel] >> text=Recently finished").wait_for(
        timeout=120_000)
    assert "done" in page.locator("[data-testid=optimizer-panel]").inner_text()
    client.close()


def test_asks_for_the_api_key(tmp_path: Path, page: Any) -> None:
    server = HeronProcess(tmp_path / "storage", env={"HERON__SERVICE__API_KEY": "k3y"}).start()
    try:
        httpx.put(f"{server.url}/collections/secret", headers={"api-key": "k3y"},
                  json={"vectors": {"size": 4, "distance": "Dot"}}, timeout=30)
        page.goto(server.url + "/dashboard")
        dialog = page.locator("#key-dialog")
        dialog.wait_for(state="visible")
        assert "requires an API key" in dialog.inner_text()
        page.fill("#key-input", "k3y")
        page.click("#key-save")
        page.locator('tr[data-collection="secret"]').wait_for()
        assert page.evaluate("localStorage.getItem('heron-api-key')") == "k3y"
    finally:
        assert server.stop() == 0, server.log()
