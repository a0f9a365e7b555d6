"""The products' search index is built in a background thread (issue 15): a search that arrives
while it is being built waits for that build and gets the right answer; a product import after
it is built is found by the next search."""

from __future__ import annotations

import threading

import pytest

from o2o.services.products import Catalogue
from o2o.storage.memory import MemoryRepository

DOWN = {"sku": "D1", "title": "轻型羽绒服 黑色 M码", "brand": "Uniqlo", "category": "Apparel", "price": 499.0,
        "online_url": "https://uniqlo.tmall.com/item/d1"}
TEE = {"sku": "T1", "title": "纯棉T恤", "brand": "Uniqlo", "category": "Apparel", "price": 79.0}


class Counting:
    """A repository that counts ``list_products`` calls and can hold one until released."""

    def __init__(self, repo, gate: threading.Event | None = None):
        self.repo, self.gate, self.calls = repo, gate, 0
        self.entered = threading.Event()

    def __getattr__(self, name):
        return getattr(self.repo, name)

    def list_products(self, retailer_id=None):
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30), "the test never released the build"
        return self.repo.list_products(retailer_id)

    def close(self):
        pass


@pytest.fixture
def repo():
    repo = MemoryRepository()
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    repo.upsert_products(rid, [DOWN, TEE])
    repo.rid = rid
    return repo


def test_a_search_arriving_during_the_background_build_waits_for_it(repo):
    gate = threading.Event()
    builder = Counting(repo, gate)
    catalogue = Catalogue(open_repo=lambda: builder)
    catalogue.ensure_started()
    assert builder.entered.wait(30)          # the background build is under way, held at the gate
    requester, answers = Counting(repo), []
    first = threading.Thread(target=lambda: answers.append(catalogue.search(requester, "yurongfu")))
    first.start()
    first.join(0.2)
    assert first.is_alive() and not answers  # waiting for the build, not answering from nothing
    gate.set()
    first.join(30)
    assert [p["sku"] for p in answers[0]] == ["D1"]
    assert answers[0][0]["retailer"] == "Fast Retailing"
    assert (builder.calls, requester.calls) == (1, 0)  # one build: the request used the background one
    assert catalogue.wait_ready(30) and catalogue.built_in_s is not None


def test_the_index_is_fresh_after_a_product_import(repo):
    catalogue = Catalogue(open_repo=lambda: repo)
    catalogue.ensure_started()
    assert catalogue.wait_ready(30)
    assert [p["sku"] for p in catalogue.search(repo, "T恤")] == ["T1"]
    repo.upsert_products(repo.rid, [{**TEE, "title": "纯棉T恤 白色"},
                                    {"sku": "S1", "title": "摇粒绒外套", "brand": "Uniqlo", "category": "Apparel",
                                     "price": 199.0}])
    assert [p["sku"] for p in catalogue.search(repo, "yaolirong")] == ["S1"]
    assert [p["title"] for p in catalogue.search(repo, "T恤")] == ["纯棉T恤 白色"]


def test_the_background_build_starts_once_per_process(repo):
    builder = Counting(repo)
    catalogue = Catalogue(open_repo=lambda: builder)
    for _ in range(3):
        catalogue.ensure_started()
    assert catalogue.wait_ready(30)
    catalogue.search(builder, "羽绒服")
    assert builder.calls == 1


def test_without_a_builder_the_first_search_builds_the_index(repo):
    catalogue = Catalogue()
    catalogue.ensure_started()               # nothing to start: no repository of its own
    assert [p["sku"] for p in catalogue.search(repo, "yrf")] == ["D1"]


def test_a_product_shows_its_retailer_before_the_index_is_built(repo):
    pid = repo.find_product_ids(repo.rid, ["D1"])["D1"]
    assert Catalogue().get(repo, pid)["retailer"] == "Fast Retailing"
