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
from typing import Any, NoReturn, TypeVar

import click

from gwpipe import __version__

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_REPO = Path(".gwpipe") / "gitops"
COMPLETE_VAR = "_GWPIPE_COMPLETE"


class State:
    """Options every command shares."""

    debug = False
    output = "text"
    color = "auto"


STATE = State()
# what each diagnostic label looks like on a terminal
_LABEL_STYLES: dict[str, dict[str, Any]] = {
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "hint": {"fg": "cyan"},
    "info": {"fg": "blue"},
}


def _set_common(debug: bool, output: str) -> None:
    STATE.debug = STATE.debug or debug
    STATE.output = output


def colour_on(stream: Any) -> bool:
    """Whether to colour `stream`: `--color always|never`, else not with NO_COLOR set, else only on a terminal."""
    if STATE.color != "auto":
        return STATE.color == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def styled(text: str, err: bool = False, **style: Any) -> str:
    """`text` in `style` when its stream (stdout, or stderr with `err`) gets colour; plain otherwise."""
    return click.style(text, **style) if colour_on(sys.stderr if err else sys.stdout) else text


def echo(text: str) -> None:
    """`text` on stdout, keeping the styles of `styled` only when stdout gets colour."""
    click.echo(text, color=colour_on(sys.stdout))


def say(label: str, text: str) -> None:
    """One `<label>: <text>` line on stderr (`error`, `warning`, `hint`, `info`), the label coloured on a terminal."""
    shown = styled(label, err=True, **_LABEL_STYLES.get(label, {}))
    click.echo(f"{shown}: {text}", err=True, color=colour_on(sys.stderr))


def error_object(problem: Any) -> dict[str, Any]:
    """`problem` as `--output json` shows it: file, line, column, field, where, message, hint (None if unknown)."""
    from gwpipe.checks.secrets import redact
    from gwpipe.errors import Problem

    fields = (problem if isinstance(problem, Problem) else Problem("", str(problem))).as_dict()
    return {key: redact(value) if isinstance(value, str) else value for key, value in fields.items()}


def fail(problems: Any, exit_code: int) -> NoReturn:
    from gwpipe.checks.secrets import redact

    for problem in problems:
        say("error", one_line(redact(str(problem))))
        if getattr(problem, "hint", None):
            say("hint", one_line(redact(problem.hint)))
    if STATE.output == "json":
        click.echo(json.dumps({"ok": False, "errors": [error_object(p) for p in problems]}, indent=2))
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


class _PluginCommands(click.Group):
    """A group whose commands come from the `gwpipe_commands` hook, each imported only when run or listed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # per set of blocked plugins: tests run several command lines in one process
        self._tables: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {}
        self._loaded: dict[tuple[str, str], click.Command] = {}
        self._blocked: tuple[str, ...] = ()

    def command_table(self) -> dict[str, tuple[str, str]]:
        """Command name -> (plugin, "module:attribute"), from every plugin; one name twice is an error."""
        if self._blocked not in self._tables:
            with failures():
                self._tables[self._blocked] = _command_table(self._blocked)
        return self._tables[self._blocked]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # a blocked plugin is never imported, not even to ask for its commands
        self._blocked = _blocked_in(args)
        # errors before the command runs (an unknown --block name, a malformed option) honour `-o json` too
        STATE.output = "json" if _wants_json(args) else "text"
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # click's own usage errors: the JSON document too, then click's usual message on stderr
            if STATE.output == "json" and not ctx.resilient_parsing:
                from gwpipe.errors import Problem

                param = getattr(exc, "param", None)  # a NoSuchOption names none
                where = (param.opts[0] if param.opts else param.human_readable_name) if param is not None else ""
                problem = Problem(where, exc.format_message())
                click.echo(json.dumps({"ok": False, "errors": [error_object(problem)]}, indent=2))
            raise

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.command_table())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.command_table().get(cmd_name)
        if entry is None:
            return None
        if entry not in self._loaded:
            with failures():
                self._loaded[entry] = _load_command(cmd_name, *entry)
        return self._loaded[entry]


def _wants_json(args: list[str]) -> bool:
    """Whether a command line asks for `-o json` (`--output json`, `--output=json`, `-ojson`), before click parses it."""
    for index, arg in enumerate(args):
        if arg == "--":
            return False
        if arg in ("-o", "--output") and args[index + 1 : index + 2] == ["json"]:
            return True
        if arg in ("--output=json", "-ojson"):
            return True
    return False


def _blocked_in(args: list[str]) -> tuple[str, ...]:
    """The `--block NAME` values on a command line, before click parses the subcommand's options."""
    blocked = []
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--block" and index + 1 < len(args):
            blocked.append(args[index + 1])
        elif arg.startswith("--block="):
            blocked.append(arg.removeprefix("--block="))
    return tuple(blocked)


def _command_table(blocked: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    from gwpipe.errors import PluginError, Problem
    from gwpipe.hooks.calls import owner
    from gwpipe.hooks.manager import create_manager

    table: dict[str, tuple[str, str]] = {}
    for commands in create_manager(blocked=blocked).hook.gwpipe_commands():
        plugin = owner(commands)
        for name, target in commands.items():
            if name in table:
                raise PluginError(
                    Problem(
                        f"plugin {plugin!r}: gwpipe_commands",
                        f"command {name!r} is also registered by plugin {table[name][0]!r}",
                    )
                )
            table[name] = (plugin, target)
    return table


def _load_command(name: str, plugin: str, target: str) -> click.Command:
    import importlib

    from gwpipe.errors import PluginError, Problem

    module, _, attribute = target.partition(":")
    try:
        command = getattr(importlib.import_module(module), attribute)
    except Exception as exc:  # noqa: BLE001 - a broken plugin command must not crash gwpipe
        raise PluginError(
            Problem(f"plugin {plugin!r}", f"command {name!r} cannot be loaded: {type(exc).__name__}: {exc}")
        ) from None
    if not isinstance(command, click.Command):
        what = f"{target} is a {type(command).__name__}, not a click.Command"
        raise PluginError(Problem(f"plugin {plugin!r}", f"command {name!r} cannot be loaded: {what}"))
    return command


@click.group(cls=_PluginCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gwpipe")
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour output: on a terminal unless NO_COLOR is set (auto), always, or never.",
)
def main(debug: bool, color: str) -> None:
    """Render, check and deliver Istio ingress configuration from per-environment specs."""
    STATE.debug = debug
    STATE.color = color
    from gwpipe import fast

    with failures():
        fast.enabled()  # a bad GWPIPE_FAST stops every command before it starts


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
    from gwpipe.cli.options import VARIABLES
    from gwpipe.engine import Options, Pipeline

    ctx = click.get_current_context(silent=True)
    settings.setdefault("variables", dict(ctx.meta.get(VARIABLES, {})) if ctx else {})
    return Pipeline(Options(templates=[Path(os.path.abspath(t)) for t in templates], blocked=list(blocked), **settings))


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
        # one completion variable whatever the program is called (`python -m gwpipe` too); `main.main`, not
        # `main()`: one frame fewer for the invoke wrapper's one more, so a template's recursion ends as before
        main.main(complete_var=COMPLETE_VAR)
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
