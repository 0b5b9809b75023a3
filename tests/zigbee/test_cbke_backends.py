"""The two curve backends agree, and the choice between them is explicit and checked (curve.set_backend)."""

from __future__ import annotations

import random

import pytest

from harness.zigbee.cbke import curve, libcrypto
from harness.zigbee.cbke.curve import G, N, Point
from tests.zigbee.conftest import use_backend

RNG = random.Random(0x11B)


@pytest.fixture
def restore_backend():
    yield
    curve.set_backend("auto")


def both(terms: list[tuple[int, Point]]) -> tuple[Point | None, Point | None]:
    use_backend("python")
    pure = curve.multiply_many(terms)
    use_backend("libcrypto")
    fast = curve.multiply_many(terms)
    return pure, fast


def test_sums_agree_on_random_scalars_and_points(restore_backend) -> None:
    points = [curve.public_key(RNG.randrange(1, N)) for _ in range(4)]
    for _ in range(15):
        # scalars past n and of full 36-byte width, as ECMQV hands them over; the generator and other points
        terms = [(RNG.getrandbits(288), RNG.choice(points)) for _ in range(RNG.randint(1, 3))]
        terms.append((RNG.randrange(N), G))
        pure, fast = both(terms)
        assert pure is not None and pure == fast


def test_generator_multiples_agree(restore_backend) -> None:
    for k in (1, 2, 3, N - 1, N + 1, RNG.randrange(1, N), (1 << 288) - 1):
        use_backend("python")
        pure = curve.public_key(k)
        use_backend("libcrypto")
        assert curve.public_key(k) == pure, hex(k)
    assert curve.public_key(N - 1) == curve.negate(G)


def test_point_at_infinity_and_zero_terms(restore_backend) -> None:
    p = curve.public_key(RNG.randrange(1, N))
    k = RNG.randrange(1, N)
    for name in ("python", "libcrypto"):
        use_backend(name)
        assert curve.multiply_many([(k, p), (N - k, p)]) is None, name
        assert curve.multiply(N, p) is None, name
        assert curve.multiply_many([(0, p), (N, G), (1, p)]) == p, name
        assert curve.multiply_many([]) is None, name


def test_libcrypto_refuses_a_point_that_is_not_on_the_curve(restore_backend) -> None:
    use_backend("libcrypto")
    fast = curve._active()
    assert fast is not None
    with pytest.raises(libcrypto.LibcryptoError, match="not on sect283k1"):
        fast.multiply_sum([(5, (G.x, G.y ^ 1))])


def test_an_unknown_backend_name_says_which_setting_and_value(monkeypatch, restore_backend) -> None:
    with pytest.raises(curve.BackendError, match=r"SMETS2_CURVE_BACKEND='gmp': expected one of auto, libcrypto"):
        curve.set_backend("gmp")
    monkeypatch.setenv(curve.BACKEND_ENV, "python")
    curve._chosen.clear()  # as in a new process
    assert curve.backend_name() == "python"


def test_libcrypto_asked_for_but_missing_is_an_error_auto_falls_back(monkeypatch, restore_backend) -> None:
    monkeypatch.setattr(libcrypto, "load", lambda path=None: None)
    with pytest.raises(curve.BackendError, match="no libcrypto with a working sect283k1"):
        curve.set_backend("libcrypto")
    assert curve.set_backend("auto") == "python"


def test_a_libcrypto_that_disagrees_with_the_known_answer_is_not_used(monkeypatch, restore_backend) -> None:
    real = use_backend("libcrypto")
    assert real.startswith("libcrypto")

    class Wrong(libcrypto.Libcrypto):
        def multiply_sum(self, terms):
            x, y = super().multiply_sum(terms)
            return x ^ 1, y

    loaded = curve._active()
    monkeypatch.setattr(libcrypto, "load", lambda path=None: Wrong(loaded._lib, loaded._group, "wrong"))
    assert curve.set_backend("auto") == "python"
    with pytest.raises(curve.BackendError):
        curve.set_backend("libcrypto")


def test_a_library_without_the_curve_is_not_loaded() -> None:
    assert libcrypto.load("/nonexistent/libcrypto.so") is None
