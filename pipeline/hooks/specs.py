# mypy: disable-error-code="empty-body"
"""The public hooks: each docstring is the contract plugins (built-in and third-party) rely on.

Hooks are called with keyword arguments; arguments may be added in later versions, never renamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.model import Finding, RenderedObject, ResourceRequest, Resources
    from gwpipe.spec.load import Spec

PROJECT = "gwpipe"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    """Collect the cerberus rules for the spec keys this plugin owns.

    Called once per run, before any spec is validated. Return a mapping from a *location* to
    cerberus rules keyed by field name. The location ``""`` is the top level of the spec;
    ``"hosts.*"`` is each value of the top-level mapping ``hosts``; ``"a.b"`` is the mapping
    under ``a.b``. A location other than ``""`` must already be declared by some plugin. Each
    field may be owned by one plugin only; two owners are a PluginError. Rules may carry
    ``meta: {"description": ...}`` for regexes, which error messages quote.
    """


@hookspec
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    """Collect the problems a schema cannot express: cross-field and cross-plugin rules.

    Called for each environment after the merged schema accepted ``spec``, so every field has
    the declared type. Return a list of Problems (use ``spec.problem(path, what)`` to locate
    them); an empty list means no objection. All plugins run and every problem is reported
    together; any problem stops the run before rendering.
    """


@hookspec
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    """Collect the objects this plugin wants rendered for ``spec``.

    Called once per environment after validation. Return ResourceRequests whose ``plugin`` is
    this plugin's registered name and whose ``template`` is ``"<folder>/<file>"`` under a
    template folder (see ``gwpipe_template_folders``). Two requests for the same kind,
    namespace and name are an error that names both plugins.
    """


@hookspec
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """Change or extend the requests of other plugins, in place.

    Called once per environment after every ``gwpipe_resources`` result was collected. Use
    ``resources.get``/``of_kind`` to find requests, change their ``values``, and call
    ``request.touch(<your plugin name>)`` on every request you change so provenance stays
    true. Order: implementations marked ``tryfirst``, then built-ins in their registration
    order (http, tls, redirect, mtls, tcp, ...), then third-party plugins in entry-point name
    order, then those marked ``trylast`` (the gitops plugin, which must see every object).
    Return nothing.
    """


@hookspec
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Collect findings about the rendered, parsed-back objects of one environment.

    Called once per environment after rendering; ``objects`` holds every object with its
    exact text and parsed value. Return Findings (Istio analyzer style: code, level, resource).
    Findings at level Error stop the run before anything is written.
    """


@hookspec
def gwpipe_template_folders() -> dict[str, str]:
    """Collect template folders: a mapping of prefix to a directory of jinja2 templates.

    Called once per environment, when its jinja2 environment is built (before rendering).
    A request's ``template`` ``"tls/gateway-server.yaml.j2"`` is looked up under the folder
    registered for prefix ``tls``. Built-in plugins use the bundled ``templates/`` folder and
    need not implement this; third-party plugins return their own. User override folders are
    searched before all of these.
    """


@hookspec
def gwpipe_commands() -> dict[str, str]:
    """Collect subcommands: command name -> "module:attribute" of a click.Command, imported only when that command runs or help lists it.

    Called once per ``gwpipe`` invocation, when the command line is parsed (before any option of
    the subcommand is read, so ``--block`` does not apply to it). Return a mapping from the
    subcommand's name (``status``) to the import path of a ``click.Command`` in the form
    ``"package.module:attribute"``. The module is imported only when the command runs or when
    ``gwpipe --help`` lists it; keep the plugin module itself cheap to import. Two plugins
    registering one name are a PluginError naming both; a command that cannot be imported is a
    PluginError naming plugin and command. The core's ``commands`` plugin registers gwpipe's own.
    """


@hookspec
def gwpipe_protected_kinds() -> list[str]:
    """Collect the kinds whose object files a write deletes only with ``--allow-delete``.

    Called when a write (render, commit or proposal) would delete object files that the new
    render no longer has, before refusing or allowing it; the request that made such a file is
    gone, so its kind is all that is left to judge it by. Return kind names (``"Gateway"``); the
    guard refuses to delete any file ``<namespace>/<kind lower-case>-<name>.yaml`` of a returned
    kind. Every plugin's kinds count (the union); an empty list protects nothing. The answer must
    not depend on any spec. The run's plugins are asked: a blocked plugin protects nothing.
    """


@hookspec
def gwpipe_synced_folders(files: dict[str, bytes]) -> list[str]:
    """Collect the folders of the GitOps repository that the controller objects in a tree sync.

    Called with a written environment tree (its committed files, or the files a render would
    write), relative path -> exact bytes, when a write or a plan compares the two to detect a
    move (the controllers repointed at another folder, which prunes and recreates every object).
    Return the repository-relative folders this plugin's controller objects in ``files`` sync
    (``"clusters/dev"``, or a shard ``"clusters/dev/1-gateways-00"``; the core folds shards into
    their environment folder); files this plugin did not write, or cannot parse, contribute
    nothing. Every plugin's folders count (the union); empty lists from all plugins mean the tree
    has no controller objects, and then nothing is a move. The run's plugins are asked: a blocked
    plugin's controller objects are not read.
    """


@hookspec
def gwpipe_import(objects: list[dict[str, Any]], context: ImportContext) -> list[ImportClaim]:
    """Claim the existing objects this plugin can express, each with the spec fragment that renders it.

    Called once by ``gwpipe import`` with every object read (files or a cluster), normalised: server
    fields (status, managedFields, resourceVersion, uid, creationTimestamp, generation, the
    last-applied annotation) and API defaults stripped, missing namespaces filled in. Return an
    ImportClaim per object (or part of one: ``fields``) this plugin would render, whose ``spec`` is
    the fragment of the spec that makes it do so; write the smallest fragment (leave defaults out).
    The core merges every fragment, renders the result and compares it field by field with the
    objects read: whatever no claim reproduces is reported as lossy, so a claim never needs to be
    exact to be safe. Return an empty list when nothing is this plugin's.
    """
