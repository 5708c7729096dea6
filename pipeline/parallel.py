"""Split large per-item work across a forked child so both cores work; small inputs stay in-process."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from gwpipe import fast

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 400


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _can_fork() -> bool:
    # GWPIPE_FAST=0: everything in this process, serially
    return fast.enabled() and _workers() >= 2 and "fork" in multiprocessing.get_all_start_methods()


class _Child:
    """A forked process computing `func(chunk)` and sending back the pickled outcome."""

    def __init__(self, func: Callable[[Sequence[Any]], list[Any]], chunk: Sequence[Any]) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(func, chunk, sender, self._receiver), daemon=True)
        self._process.start()
        sender.close()

    def collect(self) -> tuple[bool, list[Any]]:
        """(True, the results) or (False, []) when the child failed or died without a word."""
        try:
            ok, payload = pickle.loads(self._receiver.recv_bytes())
        except EOFError:  # killed
            ok, payload = False, None
        except BaseException:
            self._process.kill()
            raise
        finally:
            self._receiver.close()
            self._process.join()
        return (True, payload) if ok else (False, [])

    def cancel(self) -> None:
        """Stop the child and drop whatever it would have sent."""
        self._process.kill()
        self._process.join()
        self._receiver.close()


def fork_map(func: Callable[[Sequence[T]], list[R]], items: Sequence[T], min_items: int = MIN_ITEMS) -> list[R]:
    """`func(items)`, computed as two halves in parallel when `items` is large and fork is available.

    `func` maps a chunk to one result per item, in order. The items are dealt alternately to this
    process and a forked child, so runs of costly items (one kind of object, sorted together) are
    shared; the child inherits everything by fork (templates, validators) and sends back its results.
    `func` must be pure: when either process fails, the work is done again serially, so callers get
    exactly the error the serial call raises (the first failing item), whatever the split.
    """
    if len(items) < min_items or not _can_fork():
        return func(items)
    child = _Child(func, items[1::2])
    try:
        mine = func(items[0::2])
    except Exception:  # noqa: BLE001 - re-raised by the serial call below
        child.cancel()
        # which item fails first depends on how the items were dealt; the serial call decides
        return func(items)
    except BaseException:
        child.cancel()
        raise
    ok, payload = child.collect()
    if not ok:
        return func(items)
    merged: list[R] = []
    for index in range(len(items)):
        merged.append(mine[index // 2] if index % 2 == 0 else payload[index // 2])
    return merged


def _child(func: Callable[[Sequence[Any]], list[Any]], chunk: Sequence[Any], sender: Any, receiver: Any) -> None:
    # the parent's end of the pipe, inherited by fork: held open here, a write larger than the pipe
    # buffer would block forever once the parent is gone
    receiver.close()
    try:
        message = pickle.dumps((True, func(chunk)), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # noqa: BLE001 - the parent re-raises it
        try:
            message = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an unpicklable exception still reaches the parent as text
            message = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    sender.send_bytes(message)
    sender.close()
    os._exit(0)


class Pending(Generic[R]):
    """`func()`, computed in a forked child while the caller goes on; `result()` waits for it."""

    def __init__(self, func: Callable[[], R], fork: bool) -> None:
        self._func = func
        self._child = _Child(_call, [func]) if fork and _can_fork() else None
        self._done = False
        self._value: R | None = None
        self._error: Exception | None = None

    def result(self) -> R:
        """The value; when the child failed, `func()` runs here, so its error is exactly the serial one.

        Asked again, it gives the same value or raises the same error, without running anything.
        """
        if not self._done:
            child, self._child = self._child, None
            ok, payload = child.collect() if child is not None else (False, [])
            try:
                self._value = payload[0] if ok else self._func()
            except Exception as exc:  # noqa: BLE001 - kept, and raised below (and on every later call)
                self._error = exc
            self._done = True
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def cancel(self) -> None:
        """Stop the child, if it still runs (the run was interrupted): nothing of its work is kept."""
        if self._child is not None:
            self._child.cancel()
            self._child = None


def _call(funcs: Sequence[Callable[[], Any]]) -> list[Any]:
    return [func() for func in funcs]


def start(func: Callable[[], R], fork: bool = True) -> Pending[R]:
    """Start `func()` on the other core (when `fork` and there is one); `.result()` gives its value.

    Like `fork_map`, `func` must be pure: its value comes back pickled, and when the child fails the
    call is made again in this process, so errors are raised exactly as a plain call raises them.
    """
    return Pending(func, fork)
