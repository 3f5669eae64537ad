"""``@frozen``: the library's value classes, frozen dataclasses made without compiling.

``dataclasses.dataclass(frozen=True)`` writes six methods of every class as source text and
compiles them (~0.4 ms a class on 3.11; ~15 ms of every run's start-up, which imports ~40 of
them: benchmarks/RESULTS.md). Here ``dataclasses`` only collects the fields (so ``fields``,
``replace`` and ``asdict`` work as before) and the methods are shared ones, written once, that
behave as the generated ones: keyword or positional arguments, defaults and factories,
``__post_init__``, equality and hash over the compared fields, the repr, and
``FrozenInstanceError`` on any assignment.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from typing import dataclass_transform  # 3.11: mypy only
else:

    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda decorated: decorated


__all__ = ["frozen"]

_C = TypeVar("_C", bound=type)
_MISSING: Any = dataclasses.MISSING
_POST_INIT = "__post_init__"
#: the class's _Spec (its own, or the nearest decorated base's)
_spec_of: Callable[[type], _Spec] = attrgetter("__frozen_spec__")


class _Spec:
    """What the shared methods need of one class, worked out once as it is decorated."""

    __slots__ = ("after", "compared", "defaults", "fields", "hashed", "names", "post_init", "shown")

    def __init__(self, cls: type) -> None:
        every = dataclasses.fields(cls)
        # kw_only: 3.10+ (an InitVar is not a field: refused as an argument)
        if any(getattr(f, "kw_only", False) for f in every):
            raise TypeError(f"{cls.__qualname__}: @frozen takes no keyword-only field")
        self.fields = frozenset(f.name for f in every)
        self.names = tuple(f.name for f in every if f.init)
        #: name -> (default, factory) of the arguments that may be left out
        self.defaults: dict[str, tuple[Any, Any]] = {
            f.name: (f.default, f.default_factory)
            for f in every
            if f.init and (f.default is not _MISSING or f.default_factory is not _MISSING)
        }
        #: (name, default, factory) of the fields set without an argument (init=False)
        self.after: tuple[tuple[str, Any, Any], ...] = tuple(
            (f.name, f.default, f.default_factory)
            for f in every
            if not f.init and (f.default is not _MISSING or f.default_factory is not _MISSING)
        )
        self.post_init = hasattr(cls, "__post_init__")
        self.compared = _getter([f.name for f in every if f.compare])
        self.hashed = _getter([f.name for f in every if (f.compare if f.hash is None else f.hash)])
        self.shown = tuple(f.name for f in every if f.repr)


def _getter(names: list[str]) -> Callable[[object], tuple[object, ...]]:
    if not names:
        return lambda instance: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda instance: (one(instance),)
    return attrgetter(*names)  # a tuple for 2+ names


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: _C) -> _C:
    """Make ``cls`` a frozen dataclass; methods it defines itself are kept, as dataclass does."""
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    cls.__frozen_spec__ = _Spec(cls)  # type: ignore[attr-defined]
    own = cls.__dict__
    methods: dict[str, Any] = {
        "__init__": _init,
        "__repr__": _repr,
        "__eq__": _eq,
        "__setattr__": _setattr,
        "__delattr__": _delattr,
    }
    for name, method in methods.items():
        if name not in own or name in ("__setattr__", "__delattr__"):
            setattr(cls, name, method)
    # As dataclass(eq=True, frozen=True): a __hash__ of the class's own is kept; an __eq__ of
    # its own (which set __hash__ to None) still gets the fields' hash.
    if own.get("__hash__") is None:
        cls.__hash__ = _hash  # type: ignore[assignment]
    return cls


def _init(self: object, *args: object, **kwargs: object) -> None:
    spec = _spec_of(type(self))
    names = spec.names
    if len(args) > len(names):
        raise TypeError(
            f"{type(self).__qualname__}.__init__() takes {len(names) + 1} positional "
            f"arguments but {len(args) + 1} were given"
        )
    values = self.__dict__
    for name, arg in zip(names, args):
        if name in kwargs:
            raise TypeError(
                f"{type(self).__qualname__}.__init__() got multiple values for {name!r}"
            )
        values[name] = arg
    for name in names[len(args) :]:
        if name in kwargs:
            values[name] = kwargs.pop(name)
            continue
        default, factory = spec.defaults.get(name, (_MISSING, _MISSING))
        if default is _MISSING and factory is _MISSING:
            raise TypeError(f"{type(self).__qualname__}.__init__() missing argument {name!r}")
        values[name] = factory() if default is _MISSING else default
    if kwargs:
        unexpected = next(iter(kwargs))
        raise TypeError(f"{type(self).__qualname__}.__init__() got an unexpected {unexpected!r}")
    for name, default, factory in spec.after:
        values[name] = factory() if default is _MISSING else default
    if spec.post_init:
        getattr(self, _POST_INIT)()


def _repr(self: object) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _spec_of(type(self)).shown)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: object, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    compared = _spec_of(type(self)).compared
    return compared(self) == compared(other)


def _hash(self: object) -> int:
    return hash(_spec_of(type(self)).hashed(self))


def _setattr(self: object, name: str, value: object) -> None:
    if "__frozen_spec__" in type(self).__dict__ or name in _spec_of(type(self)).fields:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _delattr(self: object, name: str) -> None:
    if "__frozen_spec__" in type(self).__dict__ or name in _spec_of(type(self)).fields:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)
