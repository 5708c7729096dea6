"""The command line: thin commands over the pipeline stages, one error line per problem."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TypeVar

import click

from gwpipe import __version__
from gwpipe.cli import options

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_REPO = Path(".gwpipe") / "gitops"


class State:
    """Options every command shares."""

    debug = False
    output = "text"


STATE = State()


def _set_common(debug: bool, output: str) -> None:
    STATE.debug = STATE.debug or debug
    STATE.output = output


def fail(problems: Any, exit_code: int) -> NoReturn:
    from gwpipe.checks.secrets import redact

    for problem in problems:
        click.echo(f"error: {one_line(redact(str(problem)))}", err=True)
        if getattr(problem, "hint", None):
            click.echo(f"hint: {one_line(redact(problem.hint))}", err=True)
    if STATE.output == "json":
        click.echo(json.dumps({"ok": False, "errors": [one_line(redact(str(p))) for p in problems]}, indent=2))
    sys.exit(exit_code)


def one_line(text: str) -> str:
    """`text` with line breaks spelled out: every problem is one line, whatever a spec key or git said."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


@contextmanager
def failures() -> Iterator[None]:
    """Turn gwpipe errors into `error:` lines and exit codes; anything else is a bug."""
    from gwpipe.errors import GwpipeError, Problem

    try:
        yield
    except GwpipeError as exc:
        if STATE.debug:
            _print_traceback()
        fail(exc.problems, exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except BrokenPipeError:
        # the reader went away (`gwpipe plugins | head`): not an error of ours, and nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the contract: any other exception is a reported bug, not a crash
        if STATE.debug:
            _print_traceback()
        gitpython = sys.modules.get("git")
        if gitpython is not None and isinstance(exc, gitpython.GitCommandError):
            from gwpipe.git.recovery import git_problem

            problem = git_problem(os.getcwd(), exc)  # a git failure no command mapped: still git's, not ours
            fail([problem], 1)
        fail([Problem("internal", f"{type(exc).__name__}: {exc} (this is a bug; rerun with --debug)")], 1)


def _print_traceback() -> None:
    """The current traceback on stderr, with key material redacted: --debug output is logged too."""
    import traceback

    from gwpipe.checks.secrets import redact

    click.echo(redact(traceback.format_exc()).rstrip("\n"), err=True)


class _LazyGroup(click.Group):
    """A group whose commands in `gwpipe.cli.commands` are imported only when named (or listed by --help)."""

    lazy: ClassVar[dict[str, str]] = {
        name: f"{__package__}.commands.{name}" for name in ("analyze", "propose", "check", "certs", "status")
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            import importlib

            self.add_command(importlib.import_module(self.lazy[cmd_name]).command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gwpipe")
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
def main(debug: bool) -> None:
    """Render, check and deliver Istio ingress configuration from per-environment specs."""
    STATE.debug = debug


def resolve_specs(targets: tuple[str, ...], all_envs: bool, specs_dir: Path) -> list[tuple[Path, Path]]:
    """(spec file, spec root) for each target: an environment name or a path to a spec file."""
    from gwpipe.errors import Problem, UsageError

    found: list[tuple[Path, Path]] = []
    if all_envs:
        if not specs_dir.is_dir():
            raise UsageError(Problem(str(specs_dir), "no such folder of environment specs"))
        targets = targets + tuple(
            sorted(p.name for p in specs_dir.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_"))
        )
    if not targets:
        raise UsageError(Problem("arguments", "name an environment (e.g. prod), a spec file, or pass --all"))
    for target in targets:
        if "/" in target or os.sep in target:
            path = Path(target)
            found.append((path, path.parent))
        elif target.endswith((".yaml", ".yml")):
            found.append(
                (specs_dir / target, specs_dir) if (specs_dir / target).exists() else (Path(target), Path("."))
            )
        else:
            short = specs_dir / f"{target}.yml"
            found.append(
                (
                    short
                    if short.exists() and not (specs_dir / f"{target}.yaml").exists()
                    else specs_dir / f"{target}.yaml",
                    specs_dir,
                )
            )
    folded: dict[str, Path] = {}
    for path, _root in found:
        # the environment name becomes a folder: prod.yaml and prod.yml, or Prod and prod, would share it
        stem = path.name.rsplit(".", 1)[0] if path.suffix in (".yaml", ".yml") else path.name
        key = unicodedata.normalize("NFKC", stem).casefold()
        if key in folded and os.path.abspath(folded[key]) != os.path.abspath(path):
            if stem == folded[key].name.rsplit(".", 1)[0]:
                raise UsageError(Problem(str(path), f"both render environment {stem!r} with {folded[key]}; rename one"))
            raise UsageError(
                Problem(str(path), f"names collide with {folded[key]} on case-insensitive checkouts; rename one")
            )
        folded[key] = path
    unique = list(dict.fromkeys(found))
    return unique


def _pipeline(blocked: tuple[str, ...], templates: tuple[str, ...], **settings: Any) -> Any:
    from gwpipe.engine import Options, Pipeline

    return Pipeline(Options(templates=[Path(os.path.abspath(t)) for t in templates], blocked=list(blocked), **settings))


@main.command()
@options.targets
@click.option(
    "--out", type=click.Path(path_type=Path), help="Write the rendered tree to this folder instead of committing."
)
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    envvar="GWPIPE_REPO",
    help=f"GitOps repository to commit to [default: {DEFAULT_REPO}, created on first use].",
)
@click.option("--allow-empty", is_flag=True, help="Allow a render that empties an environment.")
@click.option("--allow-delete", is_flag=True, help="Allow deleting most of an environment, or a Gateway.")
@click.option("--allow-move", is_flag=True, help="Allow repointing the Argo CD/Flux objects at another folder.")
@click.option(
    "--fail-on",
    type=click.Choice(["Error", "Warning"]),
    default="Error",
    show_default=True,
    help="Lowest finding level that stops the render.",
)
@options.lock_timeout
@options.common
def render(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    out: Path | None,
    repo: Path | None,
    allow_empty: bool,
    allow_delete: bool,
    allow_move: bool,
    fail_on: str,
    lock_timeout: float,
    debug: bool,
    output: str,
) -> None:
    """Render environments (names or spec files) and commit them, or write them with --out."""
    _set_common(debug, output)
    with failures():
        from gwpipe.engine import preflight, write_bundle
        from gwpipe.git.commit import commit_bundles

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(
            blocked,
            templates,
            allow_empty=allow_empty,
            allow_delete=allow_delete,
            allow_move=allow_move,
            fail_level=fail_on,
        )
        bundles = []
        with _progress(len(specs)) as step:
            for index, (path, root) in enumerate(specs):
                # the last environment's checks may run while its commit is prepared: they settle
                # before anything is put in place (earlier ones settle here, so errors keep their order)
                last = index == len(specs) - 1 and out is None
                bundles.append(pipeline.build(pipeline.load(path, root), defer_checks=last))
                step()
        if out is not None:
            preflight(bundles, out, pipeline.options)  # all or nothing: every folder's guards before any write
            results = [write_bundle(bundle, out, pipeline.options) for bundle in bundles]
        else:
            results = commit_bundles(
                bundles, repo or DEFAULT_REPO, pipeline.options, create=repo is None, lock_timeout=lock_timeout
            )
        _report(results)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal when many environments render; silent otherwise."""
    if total < 3 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("rendering", total=total)
        yield lambda: progress.advance(task)


def _report(results: list[Any]) -> None:
    if STATE.output == "json":
        click.echo(json.dumps({"ok": True, "results": [r.as_dict() for r in results]}, indent=2, sort_keys=True))
        return
    for result in results:
        for finding in result.findings:
            click.echo(f"{finding.level.lower()}: {finding}", err=True)
        c = result.change
        if c.empty:
            click.echo(f"{result.environment}: {result.objects} objects, no changes ({result.target})")
            continue
        summary = f"files: {len(c.added)} added, {len(c.changed)} changed, {len(c.removed)} removed"
        done = f"committed {result.commit[:12]}" if result.commit else "written"
        click.echo(f"{result.environment}: {result.objects} objects; {summary}; {done} ({result.target})")


@main.command()
@options.targets
@options.common
def validate(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    debug: bool,
    output: str,
) -> None:
    """Validate specs only; writes nothing."""
    _set_common(debug, output)
    with failures():
        from gwpipe.errors import SpecError

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        problems: list[Any] = []
        names: list[str] = []
        for path, root in specs:
            try:
                names.append(pipeline.load(path, root).name)
            except SpecError as exc:
                problems.extend(exc.problems)
        if problems:
            raise SpecError(*problems)
        if STATE.output == "json":
            click.echo(json.dumps({"ok": True, "environments": names}))
        else:
            for name in names:
                click.echo(f"{name}: valid")


@main.command()
@options.targets
@click.option(
    "--repo", type=click.Path(path_type=Path), envvar="GWPIPE_REPO", help="GitOps repository to compare with."
)
@options.common
def plan(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    repo: Path | None,
    debug: bool,
    output: str,
) -> None:
    """Show what a render would change in the GitOps repository (an ingress plan); writes nothing."""
    _set_common(debug, output)
    with failures():
        from gwpipe.tree.files import read_tree
        from gwpipe.tree.plan import compute_plan

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        root = repo or DEFAULT_REPO
        plans = []
        for path, spec_root in specs:
            bundle = pipeline.build(pipeline.load(path, spec_root))
            plans.append(compute_plan(bundle.spec.name, read_tree(root / bundle.spec.name), bundle.files))
        if STATE.output == "json":
            click.echo(json.dumps({"ok": True, "plans": [p.as_dict() for p in plans]}, indent=2, sort_keys=True))
            return
        for ingress_plan in plans:
            click.echo(ingress_plan.to_text(), nl=False)


@main.command()
@options.plugins
@options.common
def plugins(blocked: tuple[str, ...], templates: tuple[str, ...], debug: bool, output: str) -> None:
    """List plugins with their versions, hooks and spec keys."""
    _set_common(debug, output)
    with failures():
        from gwpipe.hooks.manager import plugin_infos

        pipeline = _pipeline(blocked, templates)
        rows = [
            {
                "name": i.name,
                "version": i.version,
                "builtin": i.builtin,
                "hooks": list(i.hooks),
                "spec_keys": pipeline.schema.keys_of(i.name),
            }
            for i in plugin_infos(pipeline.pm)
        ]
        if STATE.output == "json":
            click.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            origin = "built-in" if row["builtin"] else "external"
            click.echo(f"{row['name']} {row['version']} ({origin})")
            click.echo(f"  hooks: {', '.join(row['hooks']) or '-'}")
            click.echo(f"  spec keys: {', '.join(row['spec_keys']) or '-'}")


def _interrupted(number: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {number}")


def run() -> None:
    """The `gwpipe` executable: `main` without the cyclic garbage collector, and without teardown.

    A render holds every spec node and manifest alive until it exits; each full collection would
    rescan all of them again, which made large environments superlinear (2000 hosts: 4.8 s with the
    collector, 3.2 s without). gwpipe makes little cyclic garbage and the process ends after one
    command, so nothing is lost. For the same reason the process ends with `os._exit` once the
    command has finished and its output is flushed: the interpreter's own exit would free those
    objects one by one (0.1 s after 2000 hosts) only for the memory to be returned anyway. Every
    command cleans up its own files and child processes before it returns. Tests call `main`
    directly and keep both.
    """
    import gc
    import signal

    gc.disable()
    # CI cancellation sends SIGTERM, a closed terminal SIGHUP: both unwind like Ctrl-C, putting the tree back
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupted)
    try:
        main()
        status: object = 0
    except SystemExit as exc:
        status = exc.code
    code = status if isinstance(status, int) else 0 if status is None else 1
    if not isinstance(status, int | None):
        click.echo(status, err=True)
    # an interrupted run may leave a forked worker behind; the exit handler that would stop it is skipped
    processes = sys.modules.get("multiprocessing")
    if processes is not None:
        for child in processes.active_children():
            child.kill()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed pipe (`gwpipe plan | head`): nothing more can be said
            stream.flush()
    os._exit(code)
