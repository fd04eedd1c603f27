"""Manual check against a REAL ComfyUI server (not collected by pytest; needs the server).

Start ComfyUI with the node pack linked into ``custom_nodes`` (see docs/plugins.md,
"Checked in a real ComfyUI server"), put ``src.png`` (registered with ``myself-i2i sources
add``), ``other.png`` and ``stranger.png`` (not registered) in its input folder, then::

    python tests/integrations/comfy_live_check.py loadimage
    python tests/integrations/comfy_live_check.py branches [PREFIX]
    python tests/integrations/comfy_live_check.py verify check.png

It queues graphs with ``POST /prompt`` and prints what ``GET /history/ID`` reports, on
loopback only (``--base`` to change the port). Restart the server with
``--disable-metadata`` and run ``branches`` again for that case.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from typing import Any

Graph = dict[str, dict[str, Any]]
WORKFLOW = {"last_node_id": 1, "nodes": [], "links": [], "version": 0.4}


def queue(base: str, prompt: Graph, workflow: dict[str, Any] | None = None) -> dict[str, Any]:
    """Queue ``prompt`` (server.py ``post_prompt``) and wait for its history entry."""
    body: dict[str, Any] = {"prompt": prompt, "client_id": "myself-i2i-check"}
    if workflow is not None:
        body["extra_data"] = {"extra_pnginfo": {"workflow": workflow}}
    req = urllib.request.Request(
        base + "/prompt", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            pid = str(json.load(r)["prompt_id"])
    except urllib.error.HTTPError as e:
        return {"http_error": e.code, "body": json.loads(e.read())}
    for _ in range(600):  # bounded: 5 minutes at most
        with urllib.request.urlopen(f"{base}/history/{pid}", timeout=30) as r:
            history = json.load(r)
        status = history.get(pid, {}).get("status", {})
        if status.get("status_str") in ("success", "error"):
            return dict(history[pid])
        time.sleep(0.5)
    return {"timeout": pid}


def save_node(images: list[Any], prefix: str, **kw: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "images": images,
        "filename_prefix": prefix,
        "format": "PNG",
        "hashtag": "#Myself_i2i",
        "mode": "auto",
        "watermark": True,
        "save_unsigned_on_refusal": False,
    }
    inputs.update(kw)
    return {"class_type": "MyselfI2ISaveImage", "inputs": inputs}


def load(name: str) -> dict[str, Any]:
    return {"class_type": "LoadImage", "inputs": {"image": name}}


def show(title: str, res: dict[str, Any]) -> None:
    print(f"=== {title}")
    if "status" not in res:
        print(json.dumps(res, ensure_ascii=False)[:800])
        return
    status = res["status"]
    print("status:", status.get("status_str"))
    for kind, data in status.get("messages", []):
        if kind == "execution_error":
            print("execution_error:", data.get("node_type"), "|", data.get("exception_message"))
    for nid, out in res.get("outputs", {}).items():
        print(f"node {nid} outputs:", json.dumps(out, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["loadimage", "branches", "verify"])
    ap.add_argument("arg", nargs="?", default="")
    ap.add_argument("--base", default="http://127.0.0.1:8188")
    a = ap.parse_args()
    if a.case == "loadimage":
        for title, prefix, image, extra in (
            ("LoadImage(src.png, registered) -> save", "A_i2i", "src.png", {}),
            ("LoadImage(stranger.png, not registered) -> save", "A2_refused", "stranger.png", {}),
            (
                "same, save_unsigned_on_refusal",
                "A3_unsigned",
                "stranger.png",
                {"save_unsigned_on_refusal": True},
            ),
        ):
            graph = {"1": load(image), "2": save_node(["1", 0], prefix, **extra)}
            show(title, queue(a.base, graph, WORKFLOW))
    elif a.case == "branches":
        branches: Graph = {
            "1": {
                "class_type": "EmptyImage",
                "inputs": {"width": 320, "height": 320, "batch_size": 2, "color": 3355443},
            },
            "2": save_node(["1", 0], a.arg or "B_t2i"),
            "10": load("other.png"),
            "11": {"class_type": "PreviewImage", "inputs": {"images": ["10", 0]}},
            "20": load("stranger.png"),
            "21": {
                "class_type": "SaveImage",
                "inputs": {"images": ["20", 0], "filename_prefix": "stock"},
            },
        }
        show(
            "EmptyImage -> our save | LoadImage -> PreviewImage | LoadImage -> SaveImage",
            queue(a.base, branches, WORKFLOW),
        )
    else:
        verify: Graph = {
            "1": {
                "class_type": "MyselfI2IVerifyImage",
                "inputs": {"image_path": a.arg, "language": "en"},
            },
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
        }
        show(f"verify {a.arg} -> Preview Any", queue(a.base, verify))


if __name__ == "__main__":
    main()
