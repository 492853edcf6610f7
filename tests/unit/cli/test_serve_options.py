"""``copyseal serve --trusted-proxy``: which peers may name the client in X-Forwarded-For."""

from __future__ import annotations

import pytest

from copyseal.cli.serve import TRUSTED_PROXIES_ENV, trusted_proxies
from copyseal.errors import InvalidInput


def test_no_proxy_is_trusted_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRUSTED_PROXIES_ENV, raising=False)
    assert trusted_proxies([]) == []


def test_options_name_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, "192.0.2.1")
    assert trusted_proxies(["10.1.2.3", "10.0.0.0/8", "::1"]) == [
        "10.1.2.3/32",
        "10.0.0.0/8",
        "::1/128",
    ]


def test_the_environment_is_read_when_no_option_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRUSTED_PROXIES_ENV, " 127.0.0.1, 172.16.0.0/12 ,")
    assert trusted_proxies([]) == ["127.0.0.1/32", "172.16.0.0/12"]


@pytest.mark.parametrize("bad", ["proxy.example", "10.0.0.0/33", "*"])
def test_anything_but_an_address_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        trusted_proxies([bad])
