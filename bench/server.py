"""The server backend against the in-process engine, on the same rows of the reviews dev set.

`python -m bench.server [--rows N] [--model NAME]` starts llama-cpp-python's
OpenAI-compatible server (`python -m llama_cpp.server`) on 127.0.0.1 with the default model,
judges the rows through it at concurrency 1, 4 and 16, and judges them in process with the
same model file. Writes bench/server.json: rows/s for each, and how far the server's
answers are from the in-process ones (decisions at p = 0.5, |p(yes) difference|).

On one CPU box a server cannot beat in-process judging (it decodes each row alone and,
in llama-cpp-python's server, computes logits for every prompt token); the point is that
the path works and scales with the server's hardware (vLLM on a GPU batches the requests).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import resolve_model
from fastsheet.backends.server import ServerSettings
from fastsheet.backends.server_backend import ServerBackend
from fastsheet.data.table import record_columns, records
from fastsheet.kinds.rules import Rule

HERE = Path(__file__).parent
OUT = HERE / "server.json"
RULE = Rule("The review is positive.")
log = logging.getLogger("bench.server")


def start_llama_server(model: Path) -> tuple[subprocess.Popen, str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, with `model`
    (flash attention on, as the in-process engine runs); waits until it lists models."""
    return serve(
        lambda port: [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                      "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                      "--flash_attn", "True", "--n_threads", str(os.cpu_count() or 1)],
        "llama_cpp.server",
    )  # fmt: skip


def start_laya_serve(**settings: str) -> tuple[subprocess.Popen, str]:
    """laya-serve (a third-party System One server) on a free loopback port, with its
    weight-free deterministic backend; `settings` are its LAYA_SERVE_* variables."""
    env = {"LAYA_SERVE_BACKEND": "fake"} | {
        f"LAYA_SERVE_{k.upper()}": v for k, v in settings.items()
    }
    command = [sys.executable, "-c", "from laya_serve.cli import main; main()"]
    return serve(lambda port: [*command, "--host", "127.0.0.1", "--port", str(port)],
                 "laya-serve", env)  # fmt: skip


def serve(
    command: Callable[[int], list[str]], name: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start a server on a free loopback port; wait (3 min at most) until it lists models."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fd, log_path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
    proc = subprocess.Popen(
        command(port), stdout=fd, stderr=subprocess.STDOUT, env=os.environ | (env or {})
    )
    os.close(fd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {Path(log_path).read_text()[-2000:]}")
        try:
            if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{name} did not start: {Path(log_path).read_text()[-2000:]}")


def stop_llama_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def timed(judge, texts: list[str], batch: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    p: list[float] = []
    for i in range(0, len(texts), batch):
        p += [a.p for a in judge(RULE, texts[i : i + batch])]
    return np.array(p), len(texts) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--model", default=None, help="catalogued name or .gguf (default model)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = resolve_model(args.model)
    frame = pl.read_csv(HERE / "data" / "reviews.csv").sample(args.rows, seed=0).select("review")
    texts = records(frame, record_columns(frame.columns, [], []), range(frame.height))

    local = LlamaBackend(model)
    p_local, local_rate = timed(local.judge, texts, local.batch_size())
    local.close()
    log.info("in process: %.2f rows/s", local_rate)

    proc, url = start_llama_server(model)
    runs = []
    try:
        for concurrency in (1, 4, 16):
            backend = ServerBackend(ServerSettings(url, concurrency=concurrency))
            backend.judge(RULE, texts[:2])  # the rule's prefix into the server's cache
            p, rate = timed(backend.judge, texts, backend.batch_size())
            backend.close()
            diff = np.abs(p - p_local)
            runs.append({
                "concurrency": concurrency,
                "rows_per_s": round(rate, 3),
                "vs_in_process": round(rate / local_rate, 3),
                "decisions_agree": round(float(np.mean((p >= 0.5) == (p_local >= 0.5))), 4),
                "median_abs_p_diff": round(statistics.median(diff.tolist()), 4),
                "share_p_within_0.05": round(float(np.mean(diff <= 0.05)), 4),
            })  # fmt: skip
            log.info("server, concurrency %d: %s", concurrency, runs[-1])
    finally:
        stop_llama_server(proc)
    result = {
        "model": model.name,
        "rows": args.rows,
        "rule": RULE.text,
        "server": "llama_cpp.server (llama-cpp-python), 127.0.0.1, flash attention",
        "in_process_rows_per_s": round(local_rate, 3),
        "runs": runs,
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


def table(result: dict) -> str:
    lines = [
        f"| path ({result['rows']} reviews, {result['model']}) | rows/s | vs in-process "
        "| decisions agree | median abs Δp(yes) |",
        "|---|---|---|---|---|",
        f"| in process | {result['in_process_rows_per_s']:.2f} | 1.00 | — | — |",
    ]
    for run in result["runs"]:
        lines.append(
            f"| server, concurrency {run['concurrency']} | {run['rows_per_s']:.2f} "
            f"| {run['vs_in_process']:.2f} | {run['decisions_agree']:.0%} "
            f"| {run['median_abs_p_diff']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
