"""/retailer: sign-in with a key into a session, CSRF on every write, rate-limited sign-in."""

import re

import pytest

pytestmark = pytest.mark.both_backends

STORE = {"name": "会话门店", "brand": "SessionBrand", "category": "Apparel", "lat": 31.2400, "lon": 121.4800}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, key):
    token = csrf_of(client.get("/retailer").get_data(as_text=True))
    return client.post("/retailer/sign-in", data={"key": key, "csrf_token": token})


def test_sign_in_page_then_console(client, keys):
    html = client.get("/retailer").get_data(as_text=True)
    assert 'name="key"' in html and "csrf_token" in html
    r = sign_in(client, keys["retailer"])
    assert r.status_code == 303
    html = client.get("/retailer").get_data(as_text=True)
    assert "Test Co" in html and 'id="store-form"' in html and 'name="csrf-token"' in html


def test_wrong_key_is_refused(client, keys):
    client.get("/retailer?lang=en")  # English from here on (the lang cookie): the message below
    r = sign_in(client, "o2o_r_1_" + "z" * 43)
    assert r.status_code == 401 and "not a valid retailer key" in r.get_data(as_text=True)
    assert sign_in(client, keys["analyst"]).status_code == 401


def test_sign_in_without_csrf_token_is_refused(client, keys):
    r = client.post("/retailer/sign-in", data={"key": keys["retailer"]}, headers={"Accept-Language": "en"})
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    assert 'id="store-form"' not in client.get("/retailer").get_data(as_text=True)


def test_session_writes_need_the_csrf_token(client, keys):
    sign_in(client, keys["retailer"])
    html = client.get("/retailer").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    assert client.post("/api/v1/stores", json=STORE).status_code == 403
    assert client.post("/api/v1/stores", json=STORE, headers={"X-CSRFToken": "forged"}).status_code == 403
    ok = client.post("/api/v1/stores", json=STORE, headers={"X-CSRFToken": token})
    assert ok.status_code == 201
    assert client.get("/api/v1/retailer/stores").status_code == 200  # reads need no token


def test_rotating_the_key_ends_the_session(client, keys, runner):
    sign_in(client, keys["retailer"])
    assert client.get("/api/v1/retailer/stores").status_code == 200
    runner.invoke(args=["retailer", "rotate-key", str(keys["retailer_id"])])
    assert client.get("/api/v1/retailer/stores").status_code == 401


def test_sign_out(client, keys):
    sign_in(client, keys["retailer"])
    html = client.get("/retailer").get_data(as_text=True)
    client.post("/retailer/sign-out", data={"csrf_token": csrf_of(html)})
    assert client.get("/api/v1/retailer/stores").status_code == 401


def test_sign_in_is_rate_limited(client, keys):
    codes = [sign_in(client, "o2o_r_1_" + "q" * 43).status_code for _ in range(12)]
    assert codes[:10] == [401] * 10 and 429 in codes[10:]


def test_the_sign_in_limit_is_a_setting(db_url, keys):
    """O2O_SIGN_INS_PER_MINUTE: an office of staff behind one address may need more than 10."""
    from o2o.web import create_app

    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "test", "TESTING": True,
                      "TILES": "none", "SIGN_INS_PER_MINUTE": 3})  # the database: the keys fixture's
    try:
        client = app.test_client()
        codes = [sign_in(client, "o2o_r_1_" + "q" * 43).status_code for _ in range(5)]
        assert codes[:3] == [401] * 3 and codes[3:] == [429, 429]
    finally:
        app.extensions["o2o"].shutdown()


def test_signing_out_ends_the_session_on_the_server_too(app, keys):
    """A copy of the session cookie taken before signing out stops working (ASVS 3.3.1)."""
    client = app.test_client()
    sign_in(client, keys["retailer"])
    assert client.get("/api/v1/retailer/stores").status_code == 200
    cookie = client.get_cookie("session") or client.get_cookie("__Host-session")
    copy = app.test_client()
    copy.set_cookie(cookie.key, cookie.value)
    assert copy.get("/api/v1/retailer/stores").status_code == 200  # the copy works while signed in
    html = client.get("/retailer").get_data(as_text=True)
    client.post("/retailer/sign-out", data={"csrf_token": csrf_of(html)})
    assert copy.get("/api/v1/retailer/stores").status_code == 401
    assert 'id="store-form"' not in copy.get("/retailer").get_data(as_text=True)
    # Signing in again makes a new session that works.
    sign_in(client, keys["retailer"])
    assert client.get("/api/v1/retailer/stores").status_code == 200
