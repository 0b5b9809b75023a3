"""The curve backends (harness/zigbee/cbke/curve.py) as a fixture: a module that asks for `each_curve_backend`
runs every test on the pure-Python backend and on libcrypto. Missing libcrypto skips its half, or fails under
SMETS2_REQUIRE_OPENSSL=1 as in CI (`make openssl` installs OpenSSL, whose libcrypto carries sect283k1)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.zigbee.cbke import curve

REQUIRE_ENV = "SMETS2_REQUIRE_OPENSSL"


def use_backend(name: str) -> str:
    try:
        return curve.set_backend(name)
    except curve.BackendError as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(params=["python", "libcrypto"])
def each_curve_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    chosen = use_backend(request.param)
    assert chosen.startswith(request.param)
    yield chosen
    curve.set_backend("auto")
