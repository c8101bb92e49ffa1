"""@typechecked checks arguments at call time, names them, and keeps the signature."""

from __future__ import annotations

import inspect

import pytest
from typeguard import TypeCheckError

from espkit.utils.typecheck import typechecked


class Widget:
    @typechecked
    def __init__(self, size: int, name: str | None = None, scales: list[float] | None = None):
        self.size, self.name, self.scales = size, name, scales


def test_good_arguments_pass_and_bad_ones_name_the_argument():
    assert Widget(3, "a", [1.0]).size == 3
    assert Widget(size=3).name is None
    with pytest.raises(TypeCheckError, match=r'argument "size" \(str\)'):
        Widget("three")
    with pytest.raises(TypeCheckError, match=r'argument "name" \(int\)'):
        Widget(3, name=4)
    with pytest.raises(TypeCheckError, match=r'argument "scales"'):
        Widget(3, scales=["x"])


def test_signature_and_defaults_are_kept():
    params = inspect.signature(Widget.__init__).parameters
    assert list(params) == ["self", "size", "name", "scales"]
    assert params["name"].default is None
