"""Hostile values and templates (catalogue rows 23-30, 42): injection, sandbox, DoS bounds, includes, size cap."""

from __future__ import annotations

import re

import pytest
import yaml

from .conftest import GOOD_SPEC, Workspace, assert_f0

GATEWAY_HEAD = '{% from "_macros/metadata.j2" import metadata %}\napiVersion: {{ api_version }}\nkind: Gateway\n{{ metadata(meta) -}}\n'


def override(ws: Workspace, body: str, name: str = "http/gateway.yaml.j2") -> None:
    path = ws.root / "tpl" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def test_row23_injection_through_a_value_stays_one_string(workspace: Workspace) -> None:
    hostile = "/a\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {k: v}\n"
    spec = yaml.safe_load(workspace.specs.joinpath("good.yaml").read_text())
    spec["hosts"]["a.example.com"]["routes"][0]["match"] = [{"uri": {"exact": hostile}}]
    workspace.write("good", yaml.safe_dump(spec))
    out = workspace.root / "out"
    result = workspace.run("render", "good", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = (out / "good" / "shop" / "virtualservice-a-example-com.yaml").read_text()
    docs = list(yaml.safe_load_all(text))
    assert len(docs) == 1
    assert docs[0]["spec"]["http"][0]["match"] == [{"uri": {"exact": hostile}}]
    assert not any("secret" in p.name for p in out.rglob("*"))


def test_row23_unquoted_override_template_is_caught_by_parse_back(workspace: Workspace) -> None:
    override(
        workspace, GATEWAY_HEAD + "spec:\n  selector: {}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"
    )
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [r"template http/gateway\.yaml\.j2: rendered 2 documents for Gateway shop/web; expected exactly 1"],
        exit_code=1,
    )


@pytest.mark.parametrize(
    "value", ["*", "&a", "!!binary", "yes", "null", "a: b", "#x", "- x", "{a}", "'q'", '"dq"', "0443", "~"]
)
def test_row24_yaml_special_values_round_trip(workspace: Workspace, value: str) -> None:
    spec = yaml.safe_load(workspace.specs.joinpath("good.yaml").read_text())
    spec["hosts"]["a.example.com"]["routes"][0]["match"] = [{"uri": {"prefix": value}}]
    workspace.write("good", yaml.safe_dump(spec))
    out = workspace.root / "out"
    assert workspace.run("render", "good", "--out", str(out)).returncode == 0
    obj = yaml.safe_load((out / "good" / "shop" / "virtualservice-a-example-com.yaml").read_text())
    assert obj["spec"]["http"][0]["match"][0]["uri"]["prefix"] == value


def test_row25_undefined_variable_names_template_line_and_variable(workspace: Workspace) -> None:
    override(workspace, GATEWAY_HEAD + "spec:\n  selector: {{ selectr | tojson }}\n")
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [r"tpl/http/gateway\.yaml\.j2:6: undefined variable: 'selectr' is undefined"],
        exit_code=1,
    )


def test_row25_undefined_attribute(workspace: Workspace) -> None:
    override(workspace, GATEWAY_HEAD + "spec:\n  servers:\n  - hosts: {{ servers[0].hots | tojson }}\n")
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [r"tpl/http/gateway\.yaml\.j2:7: undefined variable: 'dict object' has no attribute 'hots'"],
        exit_code=1,
    )


def test_row26_syntax_error_in_one_template_writes_nothing_for_any_env(workspace: Workspace) -> None:
    workspace.write("second", GOOD_SPEC)
    override(workspace, "apiVersion: v1\n{% if %}\n", name="http/virtualservice.yaml.j2")
    out = workspace.root / "out"
    assert_f0(
        workspace,
        ["render", "good", "second", "--templates", "tpl", "--out", str(out)],
        [
            r"tpl/http/virtualservice\.yaml\.j2:2: template syntax error: Expected an expression, got 'end of statement block'"
        ],
        exit_code=1,
    )
    assert not out.exists()


def test_row26_syntax_error_in_an_included_template(workspace: Workspace) -> None:
    override(workspace, "line one\n{{ x \n", name="http/part.j2")
    override(workspace, GATEWAY_HEAD + '{% include "http/part.j2" %}\n')
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [
            r"tpl/http/part\.j2:2: template syntax error: unexpected end of template, expected 'end of print statement'\."
        ],
        exit_code=1,
    )


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "access to attribute '__class__' of 'str' object is unsafe.",
        ),
        ('{{ "{0.__class__}".format(1) }}', "access to attribute '__class__' of 'int' object is unsafe."),
        ('{{ "{0.__class__}" | attr("format")(1) }}', "access to attribute '__class__' of 'int' object is unsafe."),
        ('{{ "{x.__class__}".format_map({"x": 1}) }}', "access to attribute '__class__' of 'int' object is unsafe."),
        ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__' of 'type' object is unsafe."),
    ],
)
def test_row27_sandbox_escapes_refused(workspace: Workspace, body: str, what: str) -> None:
    override(workspace, body + "\n")
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [r"tpl/http/gateway\.yaml\.j2:1: unsafe template operation refused: " + re.escape(what)],
        exit_code=1,
    )


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ('{{ "a" * 1000000000 }}', r"unsafe template operation refused: '\*' would build more than 1048576 items"),
        ("{{ 2 ** 100000000 }}", r"unsafe template operation refused: '\*\*' exponent larger than 1024 refused"),
        (
            "{% for i in range(1000000) %}x{% endfor %}",
            r"OverflowError: Range too big\. The sandbox blocks ranges larger than MAX_RANGE \(100000\)\.",
        ),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}", "RecursionError: maximum recursion depth exceeded"),
    ],
)
def test_row28_template_dos_refused(workspace: Workspace, body: str, what: str) -> None:
    override(workspace, body + "\n")
    assert_f0(
        workspace, ["render", "good", "--templates", "tpl"], [r"tpl/http/gateway\.yaml\.j2:1: " + what], exit_code=1
    )


TOO_LARGE = (
    r"template http/gateway\.yaml\.j2: Gateway shop/web is larger than 1048576 bytes, about the most Kubernetes "
    r"stores; split what it lists over several objects, e\.g\. a Gateway's servers: give some hosts another "
    r"`gateways` entry with the same selector and name it in their `gateway` key; see docs/speed\.md, Large fleets"
)


def test_row28_output_cap_stops_a_loop(workspace: Workspace) -> None:
    override(workspace, "{% for i in range(99999) %}{% for j in range(99999) %}xxxx{% endfor %}{% endfor %}\n")
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [TOO_LARGE],
        exit_code=1,
    )


def test_row28_wall_clock_limit_stops_a_silent_loop(workspace: Workspace) -> None:
    workspace.extra_env["GWPIPE_TEMPLATE_SECONDS"] = "0.5"
    override(workspace, "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}\n")
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [r"tpl/http/gateway\.yaml\.j2:1: rendering Gateway shop/web took longer than 0\.5 s; refused"],
        exit_code=1,
    )


@pytest.mark.parametrize("body", ["{{ lipsum() }}", "{{ now() }}", "{{ environ }}", "{{ range.__self__ }}"])
def test_row29_no_clock_random_or_environment(workspace: Workspace, body: str) -> None:
    override(workspace, body + "\n")
    result = assert_f0(
        workspace, ["render", "good", "--templates", "tpl"], [r"tpl/http/gateway\.yaml\.j2:1: .*"], exit_code=1
    )
    assert re.search(r"undefined|unsafe", result.stderr)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "../good.yaml"])
def test_row30_include_outside_the_template_folders(workspace: Workspace, name: str) -> None:
    override(workspace, f'{{% include "{name}" %}}\n')
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [rf"tpl/http/gateway\.yaml\.j2:1: TemplateNotFound: {re.escape(name)}"],
        exit_code=1,
        canaries=["root:x:0:0"],
    )


def test_row42_object_over_one_mib(workspace: Workspace) -> None:
    override(workspace, GATEWAY_HEAD + "spec:\n{% for i in range(70000) %}  k{{ i }}: xxxxxxxxxx\n{% endfor %}")
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [TOO_LARGE],
        exit_code=1,
    )


def test_row42_spec_templates_key_is_sandboxed_too(workspace: Workspace) -> None:
    (workspace.specs / "tpl" / "http").mkdir(parents=True)
    (workspace.specs / "tpl" / "http" / "gateway.yaml.j2").write_text("{{ ''.__class__ }}\n")
    workspace.write("good", GOOD_SPEC + "templates: tpl\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [
            r"environments/tpl/http/gateway\.yaml\.j2:1: unsafe template operation refused: access to attribute "
            r"'__class__' of 'str' object is unsafe\."
        ],
        exit_code=1,
    )
