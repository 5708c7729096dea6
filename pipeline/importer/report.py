"""The text form of an import report: counts, then each lossy field and conflict on its own line."""

from __future__ import annotations

from pathlib import Path

from gwpipe.importer.run import ImportResult


def text_report(result: ImportResult, out: Path, written: bool) -> str:
    lines = [
        f"read {len(result.read)} objects: {len(result.expressed)} expressed, {len(result.carried)} carried through,"
        f" {len({x.ref for x in result.lossy})} lossy"
    ]
    lines += [f"lossy: {x}" for x in result.lossy]
    lines += [f"conflict: {c}" for c in result.conflicts]
    lines += [f"not rendered: {why}" for why in result.unrendered]
    lines += [f"added: {ref}: the spec renders it, the manifests have none" for ref in result.added]
    lines += [f"added: {x.ref}: {x.field}" for x in result.added_fields]
    if written:
        lines.append(f"wrote {out} ({len(result.text.splitlines())} lines); round trip: {_verdict(result)}")
    elif result.unrendered:
        lines.append(f"not written: {out}; the conflicts above leave no spec that renders")
    else:
        lines.append(f"not written: {out}; pass --allow-lossy to write a spec that drops the fields above")
    return "\n".join(lines)


def _verdict(result: ImportResult) -> str:
    return "every field reproduced" if result.exact else "lossy (--allow-lossy)"
