"""A stand-in of `istioctl analyze --use-kube=false -o json FILES`: what it prints is set by ISTIOCTL_STANDIN.

report (default): one IST0101 Error for every Gateway in the files, in istioctl's JSON form (origin
`Kind namespace/name`, reference `file:line`); clean: an empty list; garbage: text that is not JSON;
crash: a Go-style panic on stderr and exit status 2; sleep: no answer for a minute. The arguments it was
called with are written to ISTIOCTL_STANDIN_ARGS when that is set.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import yaml


def main(argv: list[str]) -> int:
    if os.environ.get("ISTIOCTL_STANDIN_ARGS"):
        Path(os.environ["ISTIOCTL_STANDIN_ARGS"]).write_text(json.dumps(argv), encoding="utf-8")
    mode = os.environ.get("ISTIOCTL_STANDIN", "report")
    if mode == "garbage":
        print("Istio analysis: all good, probably")
        return 0
    if mode == "crash":
        print("panic: runtime error: invalid memory address or nil pointer dereference", file=sys.stderr)
        return 2
    if mode == "sleep":
        time.sleep(60)
        return 0
    messages = []
    if mode == "report":
        for file in (a for a in argv if a.endswith(".yaml")):
            for doc in yaml.safe_load_all(Path(file).read_text(encoding="utf-8")):
                if isinstance(doc, dict) and doc.get("kind") == "Gateway":
                    meta = doc["metadata"]
                    messages.append(
                        {
                            "code": "IST0101",
                            "level": "Error",
                            "origin": f"Gateway {meta['namespace']}/{meta['name']}",
                            "reference": f"{file}:7",
                            "message": 'Referenced selector not found: "istio=ingressgateway"',
                            "documentationUrl": "https://istio.io/latest/docs/reference/config/analysis/ist0101/",
                        }
                    )
    print(json.dumps(messages, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
