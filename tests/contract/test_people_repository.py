"""The repository contract for staff accounts and history actors, on SQLite, PostGIS and the fake."""

from __future__ import annotations

import re

import pytest

from o2o.storage import Conflict

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
pytestmark = pytest.mark.all_backends


@pytest.fixture
def org(repo):
    return repo.create_retailer("Staff Co", ["staff.tmall.com"])


def test_a_person_is_created_without_a_password_and_found_by_lower_case_email(repo, org):
    uid = repo.create_user("Lin@Example.com", "editor", org, None)
    user = repo.user_by_email("lin@example.com")
    assert user["id"] == uid and user["email"] == "lin@example.com" and user["role"] == "editor"
    assert user["retailer_id"] == org and user["analyst_id"] is None and user["password_hash"] is None
    assert ISO.match(user["created_at"]) and user["last_sign_in_at"] is None and user["disabled_at"] is None
    assert repo.get_user(uid) == user and repo.get_user(10**20) is None and repo.user_by_email("x@y.cn") is None


def test_emails_are_unique(repo, org):
    repo.create_user("a@example.com", "owner", org, None)
    with pytest.raises(Conflict):
        repo.create_user("A@example.com", "viewer", org, None)


def test_people_are_listed_by_organisation_and_changed(repo, org):
    aid = repo.create_analyst("Ana", "h" * 64)
    a = repo.create_user("a@example.com", "owner", org, None)
    repo.create_user("b@example.com", "viewer", None, aid)
    assert [u["email"] for u in repo.users_of(retailer_id=org)] == ["a@example.com"]
    assert [u["email"] for u in repo.users_of(analyst_id=aid)] == ["b@example.com"]
    assert repo.update_user(a, {"role": "viewer", "password_hash": "$argon2id$x", "disabled_at": "2026-11-11T00:00:00Z",
                                "email": "ignored@example.com"})
    user = repo.get_user(a)
    assert (user["role"], user["password_hash"], user["disabled_at"], user["email"]) == \
        ("viewer", "$argon2id$x", "2026-11-11T00:00:00Z", "a@example.com")
    assert not repo.update_user(99999, {"role": "owner"})
    assert [x["name"] for x in repo.list_analysts()] == ["Ana"]


def test_a_setup_token_is_used_once(repo, org):
    uid = repo.create_user("a@example.com", "owner", org, None)
    tid = repo.add_setup_token(uid, "f" * 64, 2_000_000_000)
    row = repo.setup_token("f" * 64)
    assert (row["id"], row["user_id"], row["valid_until"], row["used_at"]) == (tid, uid, 2_000_000_000, None)
    assert repo.use_setup_token(tid) and not repo.use_setup_token(tid)
    assert ISO.match(repo.setup_token("f" * 64)["used_at"]) and repo.setup_token("0" * 64) is None


def test_named_keys_are_made_listed_used_and_revoked(repo, org):
    kid = repo.create_api_key(org, None, "sync", "editor", "placeholder", "a@example.com")
    repo.set_api_key_hash(kid, "k" * 64)
    repo.touch_api_key(kid, "2026-11-11T01:02:03Z")
    key = repo.api_key(kid)
    assert (key["name"], key["role"], key["key_hash"], key["created_by"], key["last_used_at"], key["revoked_at"]) == \
        ("sync", "editor", "k" * 64, "a@example.com", "2026-11-11T01:02:03Z", None)
    assert [k["id"] for k in repo.api_keys_of(retailer_id=org)] == [kid]
    assert repo.revoke_api_key(kid, "2026-11-12T00:00:00Z") and not repo.revoke_api_key(kid, "2026-11-13T00:00:00Z")
    assert repo.api_key(kid)["revoked_at"] == "2026-11-12T00:00:00Z" and repo.api_key(424242) is None


def test_failed_sign_ins_count_within_a_window_lock_and_clear(repo):
    assert [repo.count_sign_in_failure("e", 1000 + i, 900) for i in range(3)] == [1, 2, 3]
    assert repo.count_sign_in_failure("e", 1000 + 901, 900) == 1  # the window began afresh
    assert repo.sign_in_lock("e") == 0 and repo.sign_in_lock("nobody") == 0
    repo.lock_sign_in("e", 5000)
    assert repo.sign_in_lock("e") == 5000 and repo.count_sign_in_failure("e", 2000, 900) == 1
    repo.clear_sign_in_failures("e")
    assert repo.sign_in_lock("e") == 0 and repo.count_sign_in_failure("e", 2001, 900) == 1


def test_history_names_the_actor_and_the_values_after(repo, org):
    sid = repo.insert_store({"retailer_id": org, "external_id": "E1", "name": "店1", "brand": "Uniqlo",
                             "category": "Apparel", "lon": 121.47, "lat": 31.23, "address": "路1号"}, actor="a@b.cn")
    repo.update_store(sid, {"name": "店一", "hours": "10:00-22:00"}, actor="sync")
    repo.bulk_upsert(org, [{"external_id": "E2", "name": "店2", "brand": "Uniqlo", "category": "Apparel",
                            "lon": 121.48, "lat": 31.23, "address": "路2号"}], [(sid, {"phone": "021-1"})],
                     actor="c@d.cn")
    repo.update_store(sid, {"status": "closed"})
    history = repo.store_history(sid)
    assert [(h["actor"], h["before"], h["after"]) for h in history] == [
        ("sync", {"name": "店1", "hours": None}, {"name": "店一", "hours": "10:00-22:00"}),
        ("c@d.cn", {"phone": None}, {"phone": "021-1"}),
        (None, {"status": "open"}, {"status": "closed"})]
    new = repo.find_store_ids(org, ["E2"])["E2"]
    assert repo.store_creator(sid) == "a@b.cn" and repo.store_creator(new) == "c@d.cn"
    assert repo.store_creator(10**20) is None
