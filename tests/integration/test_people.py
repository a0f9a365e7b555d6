"""Staff accounts through HTTP on both backends: set-up links, sign-in and lock-out, roles, CSRF,
named API keys, and history that names who changed a store."""

from __future__ import annotations

import re
import time

import pytest

from o2o.services import accounts, people
from o2o.storage import open_repository
from tests.conftest import bearer

pytestmark = pytest.mark.both_backends
PASSWORD = "plum blossom 1111"


@pytest.fixture
def org(app, db_url):
    """A retailer with its primary key, and a set-up path for one person of each role."""
    repo = open_repository(db_url)
    rid, key = accounts.create_retailer(repo, "Staff Co", ["staff.tmall.com"])
    links = {role: people.invite(repo, f"{role}@staff.example", people.Organisation("retailer", rid), role)[1]
             for role in people.ROLES}
    repo.close()
    return {"id": rid, "key": key, "links": links}


def csrf(html: str) -> str:
    return re.search(r'name="csrf[-_]token" (?:content|value)="([^"]+)"', html)[1]


def set_up(client, path: str, password: str = PASSWORD):
    token = csrf(client.get(path).get_data(as_text=True))
    return client.post(path, data={"password": password, "password2": password, "csrf_token": token})


def person(app, org, role: str):
    """A client signed in as the person of ``role`` (through the set-up link), and the page's CSRF token."""
    client = app.test_client()
    assert set_up(client, org["links"][role]).status_code == 303
    page = client.get("/retailer").get_data(as_text=True)
    return client, csrf(page)


def sign_in(client, email: str, password: str):
    token = csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def new_store(n: int) -> dict:
    return {"name": f"员工店{n}", "brand": "StaffBrand", "category": "Apparel", "lat": 31.20 + n * 0.01,
            "lon": 121.40, "external_id": f"S{n}", "address": f"员工路{n}号"}


def test_a_setup_link_sets_the_password_signs_in_and_works_once(app, org):
    client = app.test_client()
    form = client.get(org["links"]["editor"])
    assert form.status_code == 200 and "editor@staff.example" in form.get_data(as_text=True)
    done = set_up(client, org["links"]["editor"])
    assert done.status_code == 303 and done.headers["Location"].endswith("/retailer")
    page = client.get("/retailer").get_data(as_text=True)
    assert '<meta name="csrf-token"' in page and "editor@staff.example" in page
    assert app.test_client().get(org["links"]["editor"]).status_code == 410
    assert app.test_client().get(org["links"]["owner"] + "x").status_code == 404


def test_a_setup_link_expires_after_72_hours(app, org, db_url):
    repo = open_repository(db_url)
    _, path = people.invite(repo, "late@staff.example", people.Organisation("retailer", org["id"]), "viewer",
                            now=time.time() - 72 * 3600 - 1)
    repo.close()
    answer = app.test_client().get(path)
    assert answer.status_code == 410 and "72" in answer.get_data(as_text=True)


def test_weak_passwords_are_refused_with_the_reason(app, org):
    client = app.test_client()
    path = org["links"]["viewer"]
    for password, reason in (("short1", "10"), ("1234567890", "common"), ("viewer@staff.example", "e-mail")):
        token = csrf(client.get(path + "?lang=en").get_data(as_text=True))
        answer = client.post(path + "?lang=en", data={"password": password, "password2": password, "csrf_token": token})
        assert answer.status_code == 400 and reason in answer.get_data(as_text=True)
    token = csrf(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"password": PASSWORD, "password2": PASSWORD + "x",
                                   "csrf_token": token}).status_code == 400
    assert client.post(path, data={"password": PASSWORD, "password2": PASSWORD}).status_code == 400  # no CSRF token
    assert set_up(client, path).status_code == 303  # the link still works after refusals


def test_sign_in_redirects_to_the_console_and_logout_ends_the_session(app, org):
    set_up(app.test_client(), org["links"]["editor"])
    client = app.test_client()
    answer = sign_in(client, "Editor@Staff.example", PASSWORD)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/retailer")
    cookie = client.get_cookie("session")
    token = csrf(client.get("/retailer").get_data(as_text=True))
    assert client.get("/api/v1/retailer/stores").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/api/v1/retailer/stores").status_code == 401
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)  # a copy taken before signing out
    assert thief.get("/api/v1/retailer/stores").status_code == 401


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(app, org):
    set_up(app.test_client(), org["links"]["editor"])
    wrong = sign_in(app.test_client(), "editor@staff.example", "not the password")
    unknown = sign_in(app.test_client(), "nobody@staff.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))
    assert strip(wrong).replace("editor@staff.example", "E") == strip(unknown).replace("nobody@staff.example", "E")


def test_five_wrong_passwords_lock_the_account_for_15_minutes(app, org):
    set_up(app.test_client(), org["links"]["editor"])
    client = app.test_client()
    answers = [sign_in(client, "editor@staff.example", f"wrong password {i}").status_code for i in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    locked = sign_in(client, "editor@staff.example", PASSWORD)  # even the right password now
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 800
    assert "15" in locked.get_data(as_text=True)
    # An unknown e-mail locks the same way, so the lock tells nothing either.
    assert [sign_in(client, "ghost@staff.example", "x" * 12).status_code for _ in range(5)][-1] == 429


def test_each_role_may_do_what_it_should_and_no_more(app, org):
    for role in people.ROLES:
        client, token = person(app, org, role)
        h = {"X-CSRFToken": token}
        assert client.get("/api/v1/retailer/stores").status_code == 200
        created = client.post("/api/v1/stores", json=new_store(len(role)), headers=h)
        assert created.status_code == (403 if role == "viewer" else 201), role
        imported = client.post("/api/v1/stores/import", data="external_id,name,brand,category,lat,lon,address\n"
                               "I1,导入店,StaffBrand,Apparel,31.5,121.5,导入路\n", content_type="text/csv", headers=h)
        assert imported.status_code == (403 if role == "viewer" else 200), role
        if role != "viewer":
            sid = created.get_json()["id"]
            assert client.patch(f"/api/v1/stores/{sid}", json={"phone": "021-5"}, headers=h).status_code == 200
            assert client.delete(f"/api/v1/stores/{sid}", headers=h).status_code == 204
        assert client.get("/api/v1/users").status_code == (200 if role == "owner" else 403), role
        invited = client.post("/api/v1/users", json={"email": f"new-{role}@staff.example", "role": "viewer"}, headers=h)
        assert invited.status_code == (201 if role == "owner" else 403), role
        assert client.post("/api/v1/keys", json={"name": f"k-{role}", "role": "editor"},
                           headers=h).status_code == (201 if role == "owner" else 403), role
        assert client.get("/account").status_code == 200


def test_the_viewer_console_has_no_write_controls(app, org):
    client, _ = person(app, org, "viewer")
    page = client.get("/retailer").get_data(as_text=True)
    assert 'id="write-controls" hidden' in page and 'id="read-only"' in page
    client, _ = person(app, org, "editor")
    assert 'id="write-controls">' in client.get("/retailer").get_data(as_text=True)


def test_session_writes_need_the_csrf_token(app, org):
    client, token = person(app, org, "editor")
    assert client.post("/api/v1/stores", json=new_store(1)).status_code == 403
    assert client.post("/api/v1/stores", json=new_store(1), headers={"X-CSRFToken": "forged"}).status_code == 403
    assert client.post("/api/v1/stores", json=new_store(1), headers={"X-CSRFToken": token}).status_code == 201
    owner, _ = person(app, org, "owner")
    assert owner.post("/api/v1/users", json={"email": "x@staff.example", "role": "viewer"}).status_code == 403


def test_the_primary_key_and_named_keys_keep_working_for_scripts(app, org):
    client = app.test_client()
    assert client.post("/api/v1/stores", json=new_store(1), headers=bearer(org["key"])).status_code == 201
    made = client.post("/api/v1/keys", json={"name": "nightly sync", "role": "editor"}, headers=bearer(org["key"]))
    assert made.status_code == 201 and made.get_json()["key"].startswith("o2o_k_")
    key = made.get_json()["key"]
    assert client.post("/api/v1/stores", json=new_store(2), headers=bearer(key)).status_code == 201
    assert client.get("/api/v1/users", headers=bearer(key)).status_code == 403  # a key never manages people
    listed = client.get("/api/v1/keys", headers=bearer(org["key"])).get_json()["keys"]
    assert [(k["name"], k["created_by"]) for k in listed] == [("nightly sync", "primary key")]
    assert listed[0]["last_used_at"] and "key" not in listed[0] and "key_hash" not in listed[0]
    viewer = client.post("/api/v1/keys", json={"name": "reports", "role": "viewer"}, headers=bearer(org["key"]))
    assert client.post("/api/v1/stores", json=new_store(3), headers=bearer(viewer.get_json()["key"])).status_code == 403
    assert client.delete(f"/api/v1/keys/{made.get_json()['id']}", headers=bearer(org["key"])).status_code == 200
    assert client.get("/api/v1/retailer/stores", headers=bearer(key)).status_code == 401


def test_history_names_the_person_or_the_key(app, org):
    client, token = person(app, org, "editor")
    h = {"X-CSRFToken": token}
    sid = client.post("/api/v1/stores", json=new_store(1), headers=h).get_json()["id"]
    client.patch(f"/api/v1/stores/{sid}", json={"name": "员工店一"}, headers=h)
    app.test_client().patch(f"/api/v1/stores/{sid}", json={"phone": "021-6"}, headers=bearer(org["key"]))
    history = client.get(f"/api/v1/stores/{sid}/history").get_json()["history"]
    assert [(e["change"], e["actor"]) for e in history] == [
        ("created", "editor@staff.example"), ("updated", "editor@staff.example"), ("updated", "primary key")]
    assert history[1]["before"] == {"name": "员工店1"} and history[1]["after"] == {"name": "员工店一"}


def test_an_owner_manages_the_team_but_never_leaves_it_without_an_owner(app, org):
    client, token = person(app, org, "owner")
    h = {"X-CSRFToken": token}
    team = {u["email"]: u for u in client.get("/api/v1/users").get_json()["users"]}
    assert set(team) == {f"{r}@staff.example" for r in people.ROLES}
    me = team["owner@staff.example"]["id"]
    assert client.patch(f"/api/v1/users/{me}", json={"role": "viewer"}, headers=h).status_code == 409
    editor = team["editor@staff.example"]["id"]
    assert client.patch(f"/api/v1/users/{editor}", json={"role": "superuser"}, headers=h).status_code == 400
    assert client.patch(f"/api/v1/users/{editor}", json={"disabled": True}, headers=h).get_json()["disabled"]
    assert sign_in(app.test_client(), "editor@staff.example", PASSWORD).status_code == 401
    assert client.post("/api/v1/users", json={"email": "owner@staff.example", "role": "viewer"},
                       headers=h).status_code == 409
    assert client.post("/api/v1/users", json={"email": "not-an-email", "role": "viewer"}, headers=h).status_code == 400


def test_a_disabled_person_is_signed_out_at_the_next_request(app, org):
    editor, _ = person(app, org, "editor")
    owner, token = person(app, org, "owner")
    team = {u["email"]: u["id"] for u in owner.get("/api/v1/users").get_json()["users"]}
    owner.patch(f"/api/v1/users/{team['editor@staff.example']}", json={"disabled": True}, headers={"X-CSRFToken": token})
    assert editor.get("/api/v1/retailer/stores").status_code == 401


def test_a_password_change_needs_the_current_one_and_ends_other_sessions(app, org):
    client, token = person(app, org, "editor")
    other = app.test_client()
    sign_in(other, "editor@staff.example", PASSWORD)
    new = "quiet river 2026"
    wrong = client.post("/account/password", data={"current_password": "nope nope nope", "password": new,
                                                   "password2": new, "csrf_token": token})
    assert wrong.status_code == 403
    done = client.post("/account/password", data={"current_password": PASSWORD, "password": new, "password2": new,
                                                  "csrf_token": token})
    assert done.status_code == 200
    assert client.get("/api/v1/retailer/stores").status_code == 200  # this session goes on
    assert other.get("/api/v1/retailer/stores").status_code == 401  # the other one ended
    assert sign_in(app.test_client(), "editor@staff.example", new).status_code == 303


def test_the_account_page_invites_and_makes_keys_shown_once(app, org):
    client, token = person(app, org, "owner")
    page = client.post("/account/invite", data={"email": "shop7@staff.example", "role": "editor", "csrf_token": token})
    link = re.search(r'value="http://localhost(/account/setup/[^"]+)"', page.get_data(as_text=True))
    assert page.status_code == 200 and link
    assert set_up(app.test_client(), link[1]).status_code == 303
    page = client.post("/account/key", data={"name": "ERP", "role": "viewer", "csrf_token": token}).get_data(as_text=True)
    key = re.search(r'value="(o2o_k_[^"]+)"', page)[1]
    assert app.test_client().get("/api/v1/retailer/stores", headers=bearer(key)).status_code == 200
    assert key not in client.get("/account").get_data(as_text=True)


def test_analysts_have_people_too(app, db_url):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "ana@stats.example", "--analyst", "--role", "viewer"])
    assert result.exit_code == 0, result.output
    path = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"/account/setup/[A-Za-z0-9_-]{40,}", path)
    client = app.test_client()
    assert set_up(client, path).headers["Location"].endswith("/analytics")
    assert client.get("/api/v1/analytics/heatmap?layer=stores").status_code == 200
    assert client.get("/api/v1/retailer/stores").status_code == 403


def test_the_cli_invites_a_retailers_person(app, org):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "Shop@Staff.example", "--retailer", str(org["id"]), "--role", "editor"])
    assert result.exit_code == 0, result.output
    assert set_up(app.test_client(), result.output.strip().splitlines()[-1]).status_code == 303
    assert runner.invoke(args=["user", "create", "x@staff.example", "--role", "editor"]).exit_code != 0
    again = runner.invoke(args=["user", "create", "shop@staff.example", "--retailer", str(org["id"]), "--role", "viewer"])
    assert again.exit_code != 0 and "already" in again.output
