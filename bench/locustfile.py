"""The festival's traffic mix, for locust (run by ``bench/bench_load.py`` and ``tests/integration/test_load.py``).

Mostly shoppers: nearby searches and map viewports around real store locations; some QR scans
(``/go``, each from a different phone); a few retailers registering single stores and importing
small CSV files. Every successful scan, registration and import is written down, so that the
caller can check afterwards that each one is in the database.

Settings come from the environment: ``O2O_LOAD_POINTS`` (a JSON file of ``[lon, lat, store_id]``
samples), ``O2O_LOAD_KEY`` (a retailer key), ``O2O_LOAD_OUT`` (where to write what succeeded).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading

from locust import FastHttpUser, between, events, task

POINTS = json.load(open(os.environ["O2O_LOAD_POINTS"]))
KEY = os.environ["O2O_LOAD_KEY"]
OUT = os.environ["O2O_LOAD_OUT"]
RUN = os.environ.get("O2O_LOAD_RUN", "run")

_lock = threading.Lock()
_seq = itertools.count()
RESULTS = {"scans": {}, "registered": [], "imported": [], "failed_imports": [], "status": {}}


def _count_status(name: str, status: int) -> None:
    with _lock:
        by_name = RESULTS["status"].setdefault(name, {})
        by_name[str(status)] = by_name.get(str(status), 0) + 1


class Shopper(FastHttpUser):
    wait_time = between(0.0, 0.05)

    def _point(self):
        lon, lat, store_id = random.choice(POINTS)
        return lon + random.gauss(0, 0.01), lat + random.gauss(0, 0.01), store_id

    def _get(self, path: str, name: str, **kw):
        with self.client.get(path, name=name, catch_response=True, **kw) as r:
            _count_status(name, r.status_code)
            if r.status_code >= 500 or r.status_code == 0:
                r.failure(f"{r.status_code}")
            else:
                r.success()
            return r

    @task(60)
    def nearby(self):
        lon, lat, _ = self._point()
        extra = random.choice(["", "&brand=Uniqlo", "&radius_km=5", "&category=Electronics", "&k=50"])
        self._get(f"/api/v1/stores/nearby?lat={lat:.5f}&lon={lon:.5f}{extra}", "nearby")

    @task(25)
    def viewport(self):
        lon, lat, _ = self._point()
        zoom = random.choice([11, 12, 13, 14, 15])
        half = 0.6 / 2 ** (zoom - 11)
        self._get(f"/api/v1/stores?bbox={lon - half:.5f},{lat - half * 0.8:.5f},{lon + half:.5f},"
                  f"{lat + half * 0.8:.5f}&zoom={zoom}", "viewport")

    @task(10)
    def scan(self):
        _, _, store_id = random.choice(POINTS)
        phone = f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 load/{RUN}/{next(_seq)}"
        r = self._get(f"/go/{store_id}", "go", headers={"User-Agent": phone}, allow_redirects=False)
        if r.status_code == 302:
            with _lock:
                RESULTS["scans"][str(store_id)] = RESULTS["scans"].get(str(store_id), 0) + 1

    @task(2)
    def register(self):
        lon, lat, _ = self._point()
        code = f"LOAD-{RUN}-{os.getpid()}-{next(_seq)}"
        body = {"external_id": code, "name": f"压测门店{code[-6:]}", "brand": "LoadBrand", "category": "Apparel",
                "lat": round(lat, 6), "lon": round(lon, 6), "allow_duplicate": True,
                "online_url": "https://load.tmall.com/shop"}
        with self.client.post("/api/v1/stores", json=body, name="register", catch_response=True,
                              headers={"Authorization": f"Bearer {KEY}"}) as r:
            _count_status("register", r.status_code)
            if r.status_code == 201:
                with _lock:
                    RESULTS["registered"].append([r.json()["id"], code])
                r.success()
            elif r.status_code >= 500 or r.status_code == 0:
                r.failure(f"{r.status_code}")
            else:
                r.success()

    @task(1)
    def import_file(self):
        lon, lat, _ = self._point()
        codes = [f"IMP-{RUN}-{os.getpid()}-{next(_seq)}" for _ in range(20)]
        lines = ["external_id,name,brand,category,lon,lat,address,hours"]
        for i, code in enumerate(codes):
            lines.append(f"{code},导入门店{i},LoadBrand,Apparel,{lon + i * 0.002:.6f},{lat:.6f},压测路{i}号,10:00-22:00")
        with self.client.post("/api/v1/stores/import", data="\n".join(lines).encode("utf-8"), name="import",
                              catch_response=True, headers={"Authorization": f"Bearer {KEY}",
                                                            "Content-Type": "text/csv"}) as r:
            _count_status("import", r.status_code)
            if r.status_code == 200:
                report = r.json()
                with _lock:
                    RESULTS["imported"].append({"codes": codes, "inserted": report["inserted"],
                                                "rejected": [x["row"] for x in report["rejected"]]})
                r.success()
            else:
                with _lock:
                    RESULTS["failed_imports"].append(codes)  # must be all there or none (one transaction)
                if r.status_code >= 500 or r.status_code == 0:
                    r.failure(f"{r.status_code}")
                else:
                    r.success()


@events.quitting.add_listener
def _write_results(environment, **_kw):
    with open(OUT, "w") as fh:
        json.dump(RESULTS, fh)
