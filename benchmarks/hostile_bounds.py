"""Print wall time and peak RSS of `gwpipe render` on the resource-bomb inputs of the hostile catalogue.

Usage: python benchmarks/hostile_bounds.py  (numbers only; tests assert outcomes, never timings)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GOOD = """\
namespace: shop
gateways:
  web:
    selector: {istio: ingressgateway}
hosts:
  a.example.com:
    gateway: web
    routes:
      - destination: {host: app, port: 80}
"""


def alias_bomb() -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def many_hosts(count: int) -> str:
    hosts = "".join(
        f"  h{i}.example.com:\n    gateway: web\n    routes:\n      - destination: {{host: app, port: 80}}\n"
        for i in range(count)
    )
    return "namespace: shop\ngateways:\n  web:\n    selector: {istio: ingressgateway}\nhosts:\n" + hosts


def big_file(path: Path) -> None:
    with path.open("w") as handle:
        handle.write("namespace: shop\n")
        for _ in range(50):
            handle.write("# " + "x" * (1024 * 1024 - 3) + "\n")


def measure(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, float, float]:
    """(exit status, wall seconds, peak RSS in MiB) of one gwpipe run in its own process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gwpipe", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), elapsed, usage.ru_maxrss / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        specs = cwd / "environments"
        specs.mkdir()
        tpl = cwd / "tpl" / "http"
        tpl.mkdir(parents=True)
        (specs / "good.yaml").write_text(GOOD)

        def spec(text: str) -> Callable[[], tuple[str, ...]]:
            def prepare() -> tuple[str, ...]:
                (specs / "bad.yaml").write_text(text)
                return ("render", "bad", "--out", "out")

            return prepare

        def template(body: str) -> Callable[[], tuple[str, ...]]:
            def prepare() -> tuple[str, ...]:
                (tpl / "gateway.yaml.j2").write_text(body)
                return ("render", "good", "--templates", "tpl", "--out", "out")

            return prepare

        def fifty_mb() -> tuple[str, ...]:
            big_file(specs / "bad.yaml")
            return ("render", "bad", "--out", "out")

        cases: list[tuple[str, Callable[[], tuple[str, ...]], dict[str, str]]] = [
            ("baseline: good spec", lambda: ("render", "good", "--out", "out"), {}),
            ("row 2: alias bomb (9x9)", spec(alias_bomb()), {}),
            ("row 3: 100 nested [", spec("a: " + "[" * 100 + "]" * 100 + "\n"), {}),
            ("row 3: 50,000 nested [", spec("a: " + "[" * 50000 + "]" * 50000 + "\n"), {}),
            ("row 14: 50 MB spec", fifty_mb, {}),
            ("row 14: 10 MB scalar", spec("namespace: " + "a" * (10 * 1024 * 1024) + "\n"), {}),
            ("row 15: 1,000 hosts", spec(many_hosts(1000)), {}),
            ("row 15: 10,000 hosts", spec(many_hosts(10000)), {}),
            ("row 28: 'a' * 10**9", template('{{ "a" * 1000000000 }}\n'), {}),
            (
                "row 28: nested loops with output",
                template("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}\n"),
                {},
            ),
            (
                "row 28: silent nested loops (5 s limit)",
                template("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}\n"),
                {},
            ),
        ]
        print(f"{'input':44} {'exit':>4} {'seconds':>8} {'peak RSS MiB':>13}")
        for label, prepare, env in cases:
            args = prepare()
            code, seconds, rss = measure(cwd, *args, env=env)
            print(f"{label:44} {code:>4} {seconds:>8.2f} {rss:>13.1f}")


if __name__ == "__main__":
    main()
