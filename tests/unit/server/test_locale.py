"""Pages in the language the request asks for: the switch, the account, Accept-Language."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_page_is_answered_in_the_language_asked_for(client: TestClient) -> None:
    english = client.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.text and ">Register<" in english.text
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in chinese.text and ">登记作品<" in chinese.text
    assert chinese.headers["content-language"] == "zh-CN"
    assert "Accept-Language" in chinese.headers["vary"]


def test_the_switch_overrides_the_browser_and_goes_back(client: TestClient) -> None:
    switched = client.get("/lang/zh_CN", params={"next": "/verify"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/verify"
    page = client.get("/verify", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in page.text
    away = client.get("/lang/en", params={"next": "//evil.example/x"}, follow_redirects=False)
    assert away.headers["location"] == "/"
    assert client.get("/lang/fr").status_code == 404
