"""Chain settings: config.json, then the environment, then options; the key never in config."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from copyseal.adapters.chain.settings import (
    chain_section,
    key_address,
    load_chain_settings,
    load_confirmations,
    new_private_key,
    save_key_file,
)
from copyseal.errors import InvalidInput, MalformedDocument

CONTRACT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
KEY = "0x" + "5e" * 32
CONFIG: dict[str, Any] = {
    "origin": "test.copyseal/log",
    "chain": {
        "rpc_url": "http://127.0.0.1:8545",
        "chain_id": 31337,
        "contract_address": CONTRACT,
        "deployment_block": 7,
        "anchor_interval_s": 60,
    },
}


def test_config_alone_gives_a_reader(tmp_path: Path) -> None:
    settings = load_chain_settings(tmp_path, CONFIG, {})
    assert (settings.rpc_url, settings.chain_id, settings.contract_address) == (
        "http://127.0.0.1:8545",
        31337,
        CONTRACT,
    )
    assert settings.deployment_block == 7
    assert settings.private_key is None


def test_the_environment_overrides_config_and_options_override_both(tmp_path: Path) -> None:
    env = {"COPYSEAL_CHAIN_RPC": "http://127.0.0.1:9000", "COPYSEAL_CHAIN_ID": "5"}
    settings = load_chain_settings(tmp_path, CONFIG, env)
    assert (settings.rpc_url, settings.chain_id) == ("http://127.0.0.1:9000", 5)
    settings = load_chain_settings(tmp_path, CONFIG, env, chain_id=6, rpc_url=None)
    assert (settings.rpc_url, settings.chain_id) == ("http://127.0.0.1:9000", 6)


def test_the_key_comes_from_the_environment_or_the_key_file(tmp_path: Path) -> None:
    assert load_chain_settings(tmp_path, CONFIG, {"COPYSEAL_CHAIN_KEY": KEY}).private_key == KEY
    path = save_key_file(tmp_path, new_private_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from_file = load_chain_settings(tmp_path, CONFIG, {}).private_key
    assert from_file is not None and from_file != KEY
    # The environment wins over the file.
    assert load_chain_settings(tmp_path, CONFIG, {"COPYSEAL_CHAIN_KEY": KEY}).private_key == KEY
    assert key_address(KEY).startswith("0x")
    assert KEY not in repr(load_chain_settings(tmp_path, CONFIG, {"COPYSEAL_CHAIN_KEY": KEY}))


def test_a_key_in_config_json_is_refused() -> None:
    for name in ("private_key", "key"):
        with pytest.raises(InvalidInput, match="must not hold the chain private key"):
            chain_section({"chain": {**CONFIG["chain"], name: KEY}})


@pytest.mark.parametrize(
    ("config", "env", "error", "match"),
    [
        ({}, {}, InvalidInput, "no chain rpc_url"),
        ({"chain": {"rpc_url": "http://x"}}, {}, InvalidInput, "no chain chain_id"),
        ({"chain": {"rpc_url": "http://x", "chain_id": 1}}, {}, InvalidInput, "contract address"),
        ({"chain": {"rpc_url": "http://x", "chain_id": "one"}}, {}, MalformedDocument, "integer"),
        ({"chain": {"rpc_url": "http://x", "colour": 1}}, {}, MalformedDocument, "unknown"),
        ({"chain": []}, {}, MalformedDocument, "object"),
    ],
)
def test_missing_or_bad_settings_say_what_to_set(
    tmp_path: Path, config: dict[str, Any], env: dict[str, str], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        load_chain_settings(tmp_path, config, env)


def test_a_bad_key_is_refused_without_quoting_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        key_address("0x" + "5e" * 31)
    assert "5e5e" not in str(caught.value)


def test_confirmations_default_to_one() -> None:
    assert load_confirmations({}, {}) == 1
    assert load_confirmations({"chain": {"confirmations": 4}}, {}) == 4
    assert (
        load_confirmations({"chain": {"confirmations": 4}}, {"COPYSEAL_CHAIN_CONFIRMATIONS": "6"})
        == 6
    )
    with pytest.raises(MalformedDocument):
        load_confirmations({"chain": {"confirmations": 0}}, {})
