"""``@frozen`` behaves as ``dataclass(frozen=True)`` does, for every use the library makes."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import sys
from dataclasses import dataclass, field

import pytest

from peep_setuptools.frozen import frozen


def _pair(body: dict[str, object], annotations: dict[str, str]) -> tuple[type, type]:
    """The same class body made by @frozen and by dataclass(frozen=True)."""
    made = []
    for decorate in (frozen, dataclass(frozen=True)):
        namespace = {"__annotations__": dict(annotations), "__module__": __name__, **body}
        made.append(decorate(type("Value", (), namespace)))
    return made[0], made[1]


SHAPES = [
    ({}, {}),
    ({}, {"a": "int"}),
    ({"b": 2}, {"a": "int", "b": "int"}),
    ({"b": field(default_factory=list)}, {"a": "int", "b": "list[int]"}),
    ({"b": field(default=3, compare=False, repr=False)}, {"a": "int", "b": "int"}),
    ({"b": field(default=None, hash=False)}, {"a": "int", "b": "object"}),
]


@pytest.mark.parametrize(("body", "annotations"), SHAPES)
def test_instances_compare_hash_and_show_as_dataclass_ones(body, annotations):
    ours, theirs = _pair(body, annotations)
    args = [(1,), (1, 2), (2, 2)] if "b" in annotations else [(1,), (2,)]
    if not annotations:
        args = [()]
    for one in args:
        for other in args:
            n = len(annotations)
            mine = (ours(*one[:n]), ours(*other[:n]))
            real = (theirs(*one[:n]), theirs(*other[:n]))
            assert (mine[0] == mine[1]) == (real[0] == real[1])
            assert repr(mine[0]) == repr(real[0])
            try:
                hash(real[0])
            except TypeError:  # a list field: unhashable in both
                with pytest.raises(TypeError):
                    hash(mine[0])
                continue
            if real[0] == real[1]:
                assert hash(mine[0]) == hash(mine[1])
    assert [f.name for f in dataclasses.fields(ours)] == [
        f.name for f in dataclasses.fields(theirs)
    ]
    assert ours(*args[0][: len(annotations)]) != theirs(*args[0][: len(annotations)])


def test_keywords_defaults_factories_and_post_init():
    seen = []

    @frozen
    class Value:
        a: int
        b: str = "x"
        c: list[int] = field(default_factory=list)

        def __post_init__(self) -> None:
            seen.append(self.a)

    one, two = Value(1), Value(a=2, c=[5])
    assert (one.a, one.b, one.c, two.b, two.c) == (1, "x", [], "x", [5])
    assert Value(1).c is not Value(1).c  # a new list each time
    assert seen == [1, 2, 1, 1]
    assert dataclasses.replace(two, b="y") == Value(2, "y", [5])
    assert dataclasses.asdict(two) == {"a": 2, "b": "x", "c": [5]}


@pytest.mark.parametrize(
    ("args", "kwargs", "words"),
    [
        ((), {}, "missing argument 'a'"),
        ((1, 2, 3), {}, "takes 3 positional arguments but 4 were given"),
        ((1,), {"a": 1}, "multiple values for 'a'"),
        ((1,), {"z": 1}, "unexpected 'z'"),
    ],
)
def test_wrong_arguments_are_a_type_error(args, kwargs, words):
    @frozen
    class Value:
        a: int
        b: int = 0

    with pytest.raises(TypeError, match=words):
        Value(*args, **kwargs)


def test_instances_are_frozen_and_a_plain_subclass_may_add_its_own_attributes():
    @frozen
    class Value:
        a: int

    value = Value(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.b = 2  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del value.a  # type: ignore[misc]

    class Plain(Value):
        pass

    plain = Plain(1)
    plain.note = "ok"  # type: ignore[attr-defined]  # as dataclass allows it
    with pytest.raises(dataclasses.FrozenInstanceError):
        plain.a = 2  # type: ignore[misc]
    assert plain != Value(1)  # another class: as dataclass's __eq__


def test_a_value_subclass_has_its_bases_fields_first():
    @frozen
    class Base:
        a: int
        b: int = 1

    @frozen
    class Sub(Base):
        c: int = 2

    assert Sub(0) == Sub(0, 1, 2)
    assert (
        repr(Sub(0))
        == "test_a_value_subclass_has_its_bases_fields_first.<locals>.Sub(a=0, b=1, c=2)"
    )
    assert Sub(0) != Base(0)


def test_methods_of_the_class_own_are_kept():
    @frozen
    class Shown:
        a: int

        def __repr__(self) -> str:
            return "mine"

    @frozen
    class Equal:
        a: int
        b: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Equal) and self.a == other.a

    @frozen
    class Hashed:
        a: int

        def __hash__(self) -> int:
            return 7

    assert repr(Shown(1)) == "mine"
    assert Equal(1, 2) == Equal(1, 3)
    assert hash(Equal(1, 2)) == hash(Equal(1, 2))  # dataclass adds the fields' hash here too
    assert hash(Hashed(1)) == 7


def test_a_value_made_again_is_checked_again_and_a_subclass_may_change_a_default():
    """``replace`` runs ``__post_init__`` again (its check is not stepped round), as dataclass."""

    @frozen
    class Checked:
        a: int
        b: str = "x"

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError(self.a)

    @frozen
    class Sub(Checked):
        b: str = "y"
        c: tuple[int, ...] = ()

    with pytest.raises(ValueError):
        dataclasses.replace(Sub(1), a=-1)
    assert Sub(1) == Sub(1, "y", ()) != Checked(1, "y")
    assert hash(Sub(1)) == hash((1, "y", ()))  # as dataclass: the fields' tuple
    assert dataclasses.astuple(dataclasses.replace(Sub(1), c=(2,))) == (1, "y", (2,))


def test_copies_and_pickles_are_equal():
    value = _Module(1, (2, 3))
    assert copy.copy(value) == value == copy.deepcopy(value)
    assert pickle.loads(pickle.dumps(value)) == value


@pytest.mark.skipif(sys.version_info < (3, 10), reason="keyword-only fields: Python 3.10+")
def test_keyword_only_fields_are_refused():
    with pytest.raises(TypeError, match="keyword-only"):

        @frozen
        class Value:
            a: int = field(kw_only=True)


@frozen
class _Module:
    a: int
    b: tuple[int, ...]
