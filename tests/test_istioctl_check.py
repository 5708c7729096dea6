"""`checks.istioctl`: off by default; auto folds the user's istioctl findings in; required fails without it."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from cli_env import GOOD, gwpipe

from gwpipe.checks.builtin.istioctl_run import IstioctlFailure, analyze_files, parse_messages

STAND_IN = Path(__file__).resolve().parent / "stand_ins" / "istioctl_standin.py"
BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build_istioctl.py"
# PATH without any istioctl a developer may have installed, and without the stand-in
BARE_PATH = os.defpath


def _spec(cwd: Path, mode: str) -> None:
    (cwd / "environments" / "dev.yaml").write_text(f"{GOOD}checks:\n  istioctl: {mode}\n")


def _stand_in(cwd: Path) -> Path:
    """An executable named istioctl that runs the stand-in, in a folder of its own to put on PATH."""
    folder = cwd / "bin"
    folder.mkdir()
    exe = folder / "istioctl"
    exe.write_text(f'#!/bin/sh\nexec {sys.executable} {STAND_IN} "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return folder


def _render(cwd: Path, **env: str) -> tuple[int, dict[str, object] | None, str]:
    done = gwpipe(cwd, "render", "dev", "--out", "out", "--output", "json", **env)
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else None), done.stderr


def test_off_by_default_never_runs_istioctl(cwd: Path) -> None:
    called = cwd / "args.json"
    path = f"{_stand_in(cwd)}{os.pathsep}{BARE_PATH}"
    code, report, _ = _render(cwd, PATH=path, ISTIOCTL_STANDIN_ARGS=str(called), GWPIPE_ISTIOCTL="")
    assert code == 0
    assert report is not None
    assert report["results"][0]["findings"] == []
    assert not called.exists()


def test_auto_folds_istioctl_findings_into_the_render(cwd: Path) -> None:
    _spec(cwd, "auto")
    called = cwd / "args.json"
    path = f"{_stand_in(cwd)}{os.pathsep}{BARE_PATH}"
    code, report, stderr = _render(cwd, PATH=path, ISTIOCTL_STANDIN_ARGS=str(called), GWPIPE_ISTIOCTL="")
    assert code == 1, stderr
    assert report is not None
    assert report["ok"] is False
    assert _lines(report) == [
        'shop/gateway-web.yaml:7: IST0101 Gateway shop/web: istioctl: Referenced selector not found: "istio=ingressgateway"'
    ]
    args = json.loads(called.read_text())
    assert args[:5] == ["analyze", "--use-kube=false", "--all-namespaces", "-o", "json"]
    assert sorted(Path(a).name for a in args[5:]) == ["gateway-web.yaml", "virtualservice-a-example-com.yaml"]
    assert not (cwd / "out").exists()  # an Error stops the render: nothing half-written


def test_auto_without_istioctl_checks_nothing_more(cwd: Path) -> None:
    _spec(cwd, "auto")
    code, report, stderr = _render(cwd, PATH=BARE_PATH, GWPIPE_ISTIOCTL="")
    assert code == 0, stderr
    assert report is not None
    assert report["results"][0]["findings"] == []


def test_required_without_istioctl_fails_at_the_spec_field(cwd: Path) -> None:
    _spec(cwd, "required")
    code, _, stderr = _render(cwd, PATH=BARE_PATH, GWPIPE_ISTIOCTL="")
    assert code == 1
    assert stderr.splitlines() == [
        "error: environments/dev.yaml:11:13: checks.istioctl: istioctl is required but not on PATH; "
        "install it or set GWPIPE_ISTIOCTL"
    ]


@pytest.mark.parametrize(
    ("mode", "what"),
    [
        ("garbage", "istioctl analyze printed no JSON report: 'Istio analysis: all good, probably'"),
        (
            "crash",
            "istioctl analyze exited with status 2: panic: runtime error: invalid memory address or nil pointer "
            "dereference",
        ),
    ],
)
def test_a_broken_istioctl_is_one_error_line(cwd: Path, mode: str, what: str) -> None:
    _spec(cwd, "auto")
    path = f"{_stand_in(cwd)}{os.pathsep}{BARE_PATH}"
    code, _, stderr = _render(cwd, PATH=path, ISTIOCTL_STANDIN=mode, GWPIPE_ISTIOCTL="")
    assert code == 1
    assert stderr.splitlines() == [f"error: environments/dev.yaml:11:13: checks.istioctl: {what}"]
    assert "Traceback" not in stderr


def test_gwpipe_istioctl_naming_nothing_is_an_error(cwd: Path) -> None:
    _spec(cwd, "auto")
    missing = cwd / "nowhere" / "istioctl"
    code, _, stderr = _render(cwd, PATH=BARE_PATH, GWPIPE_ISTIOCTL=str(missing))
    assert code == 1
    assert stderr.splitlines() == [f"error: environments/dev.yaml:11:13: checks.istioctl: {missing} not found"]


def test_an_unknown_mode_is_a_spec_error(cwd: Path) -> None:
    _spec(cwd, "sometimes")
    done = gwpipe(cwd, "render", "dev", "--out", "out")
    assert done.returncode == 2
    assert "checks.istioctl" in done.stderr
    assert "sometimes" in done.stderr


def test_a_silent_istioctl_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISTIOCTL_STANDIN", "sleep")
    exe = _stand_in(tmp_path) / "istioctl"
    with pytest.raises(IstioctlFailure) as info:
        analyze_files(str(exe), [], tmp_path, timeout=0.5)
    assert str(info.value) == "istioctl analyze gave no answer within 0.5 s"


def test_parse_messages_reads_origin_and_reference() -> None:
    text = json.dumps(
        [
            {"code": "IST0106", "level": "Error", "origin": "Gateway a/b", "reference": "x/y.yaml:3", "message": "m"},
            {"code": "IST0102", "level": "Info", "origin": "Namespace shop", "message": "n"},
        ]
    )
    first, second = parse_messages(text)
    assert (first.kind, first.namespace, first.name, first.file, first.line) == ("Gateway", "a", "b", "x/y.yaml", 3)
    assert (second.kind, second.namespace, second.name, second.file, second.line) == (
        "Namespace",
        "",
        "shop",
        None,
        None,
    )
    with pytest.raises(IstioctlFailure, match="message 0 has no code, level and message"):
        parse_messages('[{"code": "IST0106"}]')
    with pytest.raises(IstioctlFailure, match="not a list of messages"):
        parse_messages('{"code": "IST0106"}')


def test_the_real_istioctl_reports_what_it_finds_in_the_rendered_tree(cwd: Path) -> None:
    binary = _built_istioctl()
    if binary is None:
        pytest.skip("no istioctl built: `python scripts/build_istioctl.py` (or tox -e oracle) builds the pinned one")
    spec = GOOD.replace(
        "      - destination: {host: app, port: 80}",
        "      - destination: {host: app, port: 80}\n        timeout: 1.5ms",
    )
    (cwd / "environments" / "dev.yaml").write_text(f"{spec}checks:\n  istioctl: auto\n")
    code, report, stderr = _render(cwd, PATH=BARE_PATH, GWPIPE_ISTIOCTL=str(binary))
    assert code == 1, stderr
    assert report is not None
    ours = [e for e in _lines(report) if "istioctl: " in e]
    assert [e.split(": ", 1)[1] for e in ours] == [
        "IST0106 VirtualService shop/a-example-com: istioctl: "
        "Schema validation error: only durations to ms precision are supported"
    ]
    assert ours[0].startswith("shop/virtualservice-a-example-com.yaml:")


def _lines(report: dict[str, object]) -> list[str]:
    """The `-o json` error objects as the `where: message` of their `error:` lines."""
    errors = report["errors"]
    assert isinstance(errors, list)
    return [f"{e['where']}: {e['message']}" if e["where"] else e["message"] for e in errors]


def _built_istioctl() -> Path | None:
    spec = importlib.util.spec_from_file_location("build_istioctl", BUILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    binary: Path = module.binary_path()
    return binary if binary.is_file() else None


def test_parse_messages_skips_the_log_lines_before_the_report() -> None:
    text = '2026-12-03T14:06:41.110275Z\twarn\tfile\terror processing a.yaml[0]: bad - skipping\n[{"code": "IST0102", "level": "Info", "origin": "Namespace shop", "message": "n"}]\n'
    assert [m.code for m in parse_messages(text)] == ["IST0102"]
