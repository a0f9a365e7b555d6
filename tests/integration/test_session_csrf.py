"""The console's first write right after signing in never fails its CSRF check, whatever order the
answers to requests sent around the sign-in come back in (every answer re-sends the permanent
session's cookie as its request carried it)."""

import re

import pytest

from .test_retailer_page import sign_in

pytestmark = pytest.mark.both_backends


def test_a_late_answer_from_just_after_sign_in_does_not_lose_the_csrf_token(client, keys):
    assert sign_in(client, keys["retailer"]).status_code == 303
    signed_in = client.get_cookie("session").value          # the cookie between sign-in and console
    html = client.get("/retailer").get_data(as_text=True)   # the console, with its CSRF token
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    client.set_cookie("session", signed_in)                 # a request sent in between answers last
    r = client.post("/api/v1/stores/import?dry_run=true", data=b"external_id,name,brand,category,lon,lat\n"
                    b"S1,Shop,SessionBrand,Apparel,121.48,31.24\n",
                    headers={"X-CSRFToken": token, "Content-Type": "text/csv"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["inserted"] == 1 and r.get_json()["dry_run"] is True
