"""fork_map gives exactly what the serial call gives: same order, same results, same exceptions."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.errors import Problem, RenderError
from gwpipe.parallel import fork_map

pytestmark = pytest.mark.usefixtures("fast_paths")  # tests of the fork machinery itself


def _square(chunk: Sequence[int]) -> list[int]:
    return [x * x for x in chunk]


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(-1000, 1000), max_size=60))
def test_results_come_back_in_input_order(items: list[int]) -> None:
    assert fork_map(_square, items, min_items=2) == [x * x for x in items]


def _fail_on_seven(chunk: Sequence[int]) -> list[int]:
    for x in chunk:
        if x == 7:
            raise RenderError(Problem("template t.j2:3", "undefined variable: x"))
    return list(chunk)


@pytest.mark.parametrize("position", [6, 7])  # 7 is dealt to the parent, 8 to the child
def test_an_error_in_either_process_arrives_whole(position: int) -> None:
    items = list(range(10, 20))
    items[position] = 7
    with pytest.raises(RenderError) as caught:
        fork_map(_fail_on_seven, items, min_items=2)
    assert [str(p) for p in caught.value.problems] == ["template t.j2:3: undefined variable: x"]


def _fail_on_negative(chunk: Sequence[int]) -> list[int]:
    for x in chunk:
        if x < 0:
            raise RenderError(Problem(f"item {x}", "negative"))
    return list(chunk)


@pytest.mark.parametrize("size", [10, 400])
def test_the_first_failing_item_is_reported_whatever_the_split(size: int) -> None:
    items = list(range(size))
    items[1], items[2] = -1, -2  # dealt to different processes
    with pytest.raises(RenderError) as caught:
        fork_map(_fail_on_negative, items, min_items=2)
    assert [str(p) for p in caught.value.problems] == ["item -1: negative"]


def test_start_gives_the_value_computed_in_the_child() -> None:
    from gwpipe.parallel import start

    parent = os.getpid()
    pending = start(lambda: (os.getpid(), [x * x for x in range(5)]))
    pid, squares = pending.result()
    assert squares == [0, 1, 4, 9, 16]
    assert pid != parent  # it really ran in another process
    assert pending.result() == (pid, squares)  # asked again: the same value, no second run


def test_start_without_fork_computes_here_when_asked() -> None:
    from gwpipe.parallel import start

    calls: list[int] = []
    pending = start(lambda: calls.append(os.getpid()) or len(calls), fork=False)
    assert calls == []
    assert pending.result() == 1
    assert calls == [os.getpid()]


def test_start_raises_the_serial_error_when_the_child_fails() -> None:
    from gwpipe.parallel import start

    def fail() -> int:
        raise RenderError(Problem("plugin 'p': gwpipe_check", "boom"))

    with pytest.raises(RenderError) as caught:
        start(fail).result()
    assert [str(p) for p in caught.value.problems] == ["plugin 'p': gwpipe_check: boom"]


def test_start_survives_a_child_killed_midway() -> None:
    import signal

    from gwpipe.parallel import start

    def value() -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return 42

    parent = os.getpid()
    assert start(value).result() == 42  # computed again here


def test_start_asked_again_raises_the_same_error_without_running_again() -> None:
    from gwpipe.parallel import start

    runs: list[int] = []

    def fail() -> int:
        runs.append(os.getpid())
        raise RenderError(Problem("plugin 'p': gwpipe_check", "boom"))

    pending = start(fail)
    for _ in range(2):
        with pytest.raises(RenderError) as caught:
            pending.result()
        assert [str(p) for p in caught.value.problems] == ["plugin 'p': gwpipe_check: boom"]
    assert runs == [os.getpid()]  # the child's run is not seen here; the serial rerun happened once


def test_a_cancelled_child_is_gone() -> None:
    import multiprocessing
    import time

    from gwpipe.parallel import start

    pending = start(lambda: time.sleep(30))
    pending.cancel()
    assert multiprocessing.active_children() == []


def test_fork_map_survives_a_child_killed_midway() -> None:
    import signal

    parent = os.getpid()

    def square_unless_child(chunk: Sequence[int]) -> list[int]:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return [x * x for x in chunk]

    assert fork_map(square_unless_child, list(range(10)), min_items=2) == [x * x for x in range(10)]
