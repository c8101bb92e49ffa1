"""``@typechecked`` for constructors built from YAML: typeguard's checks, made at call time.

typeguard's own ``@typechecked`` rewrites each decorated function's source through the AST
when the module is imported, a cost paid by every ``tts_train`` start-up (``--help`` included)
for each decorated constructor. This decorator checks the bound arguments with ``typeguard.check_type``
when the function is called, which is when a mistake can exist, and raises typeguard's
``TypeCheckError`` naming the argument, as typeguard does.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable, TypeVar

from typeguard import TypeCheckError, check_type

F = TypeVar("F", bound=Callable[..., Any])


def typechecked(func: F) -> F:
    """Check every annotated argument of ``func`` against its annotation on each call."""
    signature = inspect.signature(func)
    hints: dict[str, Any] | None = None

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        nonlocal hints
        if hints is None:
            hints = typing.get_type_hints(func)
            hints.pop("return", None)
        for name, value in signature.bind(*args, **kwargs).arguments.items():
            expected = hints.get(name)
            if expected is not None:
                try:
                    check_type(value, expected)
                except TypeCheckError as exc:
                    raise TypeCheckError(f'argument "{name}" ({type(value).__name__}): {exc}') from None
        return func(*args, **kwargs)

    return checked  # type: ignore[return-value]
