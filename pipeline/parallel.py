"""Split large per-item work across a forked child so both cores work; small inputs stay in-process."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 400


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def fork_map(func: Callable[[Sequence[T]], list[R]], items: Sequence[T], min_items: int = MIN_ITEMS) -> list[R]:
    """`func(items)`, computed as two halves in parallel when `items` is large and fork is available.

    `func` maps a chunk to one result per item, in order. The items are dealt alternately to this
    process and a forked child, so runs of costly items (one kind of object, sorted together) are
    shared; the child inherits everything by fork (templates, validators) and sends back its results.
    `func` must be pure: when either process fails, the work is done again serially, so callers get
    exactly the error the serial call raises (the first failing item), whatever the split.
    """
    if len(items) < min_items or _workers() < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return func(items)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(func, items[1::2], sender, receiver), daemon=True)
    child.start()
    sender.close()
    try:
        mine = func(items[0::2])
    except Exception:  # noqa: BLE001 - re-raised by the serial call below
        child.kill()
        child.join()
        # which item fails first depends on how the items were dealt; the serial call decides
        return func(items)
    except BaseException:
        child.kill()
        child.join()
        raise
    ok, payload = pickle.loads(receiver.recv_bytes())
    child.join()
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
        self._outcome: tuple[bool, Any] | None = None  # (True, value) or (False, the exception raised)
        self._child: Any = None
        self._receiver: Any = None
        if fork and _workers() >= 2 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._receiver, sender = context.Pipe(duplex=False)
            self._child = context.Process(target=_child, args=(_call, [func], sender, self._receiver), daemon=True)
            self._child.start()
            sender.close()

    def result(self) -> R:
        """The value; when the child failed, `func()` runs here, so its error is exactly the serial one.

        Asked again, it gives the same value or raises the same error, without running anything.
        """
        if self._outcome is None:
            value = self._collect()
            if value is _NOTHING:
                try:
                    value = self._func()
                except Exception as exc:
                    self._outcome = (False, exc)
                    raise
            self._outcome = (True, value)
        ok, value = self._outcome
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def cancel(self) -> None:
        """Stop the child, if it still runs (the run was interrupted): nothing of its work is kept."""
        if self._child is not None:
            self._child.kill()
            self._child.join()
            self._receiver.close()
            self._child = self._receiver = None

    def _collect(self) -> Any:
        """The child's value, or _NOTHING when there is no child or it failed."""
        if self._child is None:
            return _NOTHING
        child, receiver = self._child, self._receiver
        self._child = self._receiver = None
        try:
            ok, payload = pickle.loads(receiver.recv_bytes())
        except EOFError:  # the child died without a word (killed)
            ok, payload = False, None
        except BaseException:
            child.kill()
            raise
        finally:
            receiver.close()
            child.join()
        return payload[0] if ok else _NOTHING


_NOTHING = object()


def _call(funcs: Sequence[Callable[[], Any]]) -> list[Any]:
    return [func() for func in funcs]


def start(func: Callable[[], R], fork: bool = True) -> Pending[R]:
    """Start `func()` on the other core (when `fork` and there is one); `.result()` gives its value.

    Like `fork_map`, `func` must be pure: its value comes back pickled, and when the child fails the
    call is made again in this process, so errors are raised exactly as a plain call raises them.
    """
    return Pending(func, fork)
