"""The crash drill's operator: alias switches and snapshots among the writers' operations.

Writers write through the alias ``drill_w``; every switch re-points it (and flips
``drill_flip`` between the drill collection and a side one) in one all-or-nothing request, so
no write may fail because of a switch. Snapshots of the drill collection are taken and the
oldest deleted as the drill runs. After each restart the operator checks that the aliases are
the last acknowledged set (or the in-flight one), that every acknowledged snapshot is listed
with a checksum matching its file, that nothing partial is visible, and that the newest
snapshot recovers into a collection that loads.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

WRITE_ALIAS = "drill_w"
FLIP_ALIAS = "drill_flip"
SIDE = "drill_side"
RESTORED = "drill_restored"
KEEP_SNAPSHOTS = 3


class Operator:
    """One thread of alias switches and snapshots; ``verify`` after every restart."""

    def __init__(self, collection: str, storage: Path, rng: random.Random) -> None:
        self.collection = collection
        self.storage = storage
        self.rng = rng
        self.aliases = {WRITE_ALIAS: collection, FLIP_ALIAS: collection}
        self.in_flight_aliases: dict[str, str] | None = None
        self.snapshots: dict[str, str] = {}  # acknowledged: name -> checksum
        self.in_flight_delete: str | None = None
        self.switches = 0
        self.taken = 0
        self.bad = 0
        self.errors: list[str] = []

    def setup(self, http: httpx.Client) -> None:
        http.put(f"/collections/{SIDE}", json={"vectors": {"a": {"size": 8, "distance": "Dot"}}}
                 ).raise_for_status()
        actions = [{"create_alias": {"collection_name": c, "alias_name": a}}
                   for a, c in self.aliases.items()]
        http.post("/collections/aliases", json={"actions": actions}).raise_for_status()

    # --- during a cycle -----------------------------------------------------------------------
    def run(self, url: str, stop: threading.Event) -> None:
        """Switch aliases and take snapshots until ``stop`` or the server dies."""
        with httpx.Client(base_url=url, timeout=20) as http:
            while not stop.is_set():
                try:
                    ok = self._switch(http) if self.rng.random() < 0.5 else self._snapshot(http)
                except httpx.HTTPError:
                    return
                if not ok:
                    return
                time.sleep(self.rng.uniform(0.005, 0.05))

    def _failed(self, what: str, r: httpx.Response, stop_set: bool) -> bool:
        if not stop_set:
            self.errors.append(f"{what} -> {r.status_code}: {r.text[:300]}")
        return False

    def _switch(self, http: httpx.Client) -> bool:
        flip = SIDE if self.aliases[FLIP_ALIAS] == self.collection else self.collection
        new = {WRITE_ALIAS: self.collection, FLIP_ALIAS: flip}
        actions = [
            {"delete_alias": {"alias_name": WRITE_ALIAS}},
            {"create_alias": {"collection_name": self.collection, "alias_name": WRITE_ALIAS}},
            {"delete_alias": {"alias_name": FLIP_ALIAS}},
            {"create_alias": {"collection_name": flip, "alias_name": FLIP_ALIAS}},
        ]
        self.in_flight_aliases = new
        r = http.post("/collections/aliases", json={"actions": actions})
        if r.status_code != 200:
            return self._failed("alias switch", r, False)
        self.aliases, self.in_flight_aliases = new, None
        self.switches += 1
        r = http.post(f"/collections/{FLIP_ALIAS}/points/count", json={"exact": True})
        return r.status_code == 200 or self._failed("count through the flipped alias", r, False)

    def _snapshot(self, http: httpx.Client) -> bool:
        if len(self.snapshots) >= KEEP_SNAPSHOTS:
            oldest = next(iter(self.snapshots))
            self.in_flight_delete = oldest
            r = http.delete(f"/collections/{self.collection}/snapshots/{oldest}")
            if r.status_code != 200:
                return self._failed("snapshot delete", r, False)
            del self.snapshots[oldest]
            self.in_flight_delete = None
        r = http.post(f"/collections/{self.collection}/snapshots")
        if r.status_code != 200:
            return self._failed("snapshot", r, False)
        desc = r.json()["result"]
        self.snapshots[desc["name"]] = desc["checksum"]
        self.taken += 1
        return True

    # --- after a restart ----------------------------------------------------------------------
    def verify(self, http: httpx.Client, report: Callable[[str], None]) -> None:
        """Check aliases and snapshots against what was acknowledged; adopt in-flight outcomes."""
        got = {a["alias_name"]: a["collection_name"]
               for a in http.get("/aliases").json()["result"]["aliases"]}
        if got == self.aliases:
            pass
        elif self.in_flight_aliases is not None and got == self.in_flight_aliases:
            self.aliases = self.in_flight_aliases
        else:
            self.bad += 1
            report(f"aliases are {got}, acknowledged {self.aliases}")
        self.in_flight_aliases = None

        listed = {s["name"]: s for s in http.get(
            f"/collections/{self.collection}/snapshots").json()["result"]}
        if self.in_flight_delete is not None:
            self.snapshots.pop(self.in_flight_delete, None)
            self.in_flight_delete = None
        for name, checksum in self.snapshots.items():
            if name not in listed or listed[name]["checksum"] != checksum:
                self.bad += 1
                report(f"acknowledged snapshot {name} is missing or changed: {listed.get(name)}")
        for name, desc in listed.items():
            body = http.get(f"/collections/{self.collection}/snapshots/{name}").content
            if hashlib.sha256(body).hexdigest() != desc["checksum"] or len(body) != desc["size"]:
                self.bad += 1
                report(f"snapshot {name} does not match its checksum")
            self.snapshots.setdefault(name, desc["checksum"])  # an in-flight one completed
        folder = self.storage / "snapshots" / "collections" / self.collection
        partial = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        partial = [n for n in partial if n.startswith(".")]
        if partial:
            self.bad += 1
            report(f"partial snapshot files visible after restart: {partial}")
        if self.snapshots:
            self._recover(http, next(reversed(self.snapshots)), report)

    def _recover(self, http: httpx.Client, name: str, report: Callable[[str], None]) -> None:
        path = self.storage / "snapshots" / "collections" / self.collection / name
        r = http.put(f"/collections/{RESTORED}/snapshots/recover",
                     json={"location": path.as_uri(), "checksum": self.snapshots[name]})
        info: Any = http.get(f"/collections/{RESTORED}")
        if r.status_code != 200 or info.status_code != 200:
            self.bad += 1
            report(f"recovering {name} failed: {r.status_code} {r.text[:300]}")
            return
        http.delete(f"/collections/{RESTORED}").raise_for_status()
