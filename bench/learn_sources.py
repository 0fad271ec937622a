"""Two more sources for a rule's learned head, measured against the app's (bench/learn.py).

`python -m bench.learn_sources --model NAME [--tasks a,b] [--short] [--pooled]`, on the
rows bench.learn judged (its states must be kept under .bench-cache/learn/):

- `--short`: the question asked before the record only (the QUESTION_FIRST framing: after
  the record only the chat turn's end follows), for a model whose framing asks it again
  after the record (the 1.5B's QUESTION). The same rows are judged again with states, and
  the same learning curve is drawn; with each task's judging seconds under both.
- `--pooled`: the record's own mean-pooled final state (llama.cpp embeddings mode, the
  record alone, no rule), a source no rule edit can invalidate: a head over it alone (what
  an edited rule could be re-decided from with no model pass) and one over it plus the
  model's answer, against the app's head over the answer-position state.

Labels at random from the pool (5 draws), balanced accuracy on the scored rows (macro
recall for label tasks). Writes bench/learn_sources.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench.learn_costs import rows_per_s
from bench.learn_curve import _predict, evaluate
from bench.learn_states import N_LAYERS, RANDOM_DRAWS, _layer, _layers, model_path, states_for
from bench.tasks import DATA, Task, load_tasks
from fastsheet.backends.framing import Framing
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.data.table import record_columns, records
from fastsheet.kinds.rules import Kind
from fastsheet.stats.head import Reducer, answer_features, balanced_accuracy

HERE = Path(__file__).parent
OUT = HERE / "learn_sources.json"
CACHE = HERE.parent / ".bench-cache" / "learn"
APP = "three quarters/32"
BUDGETS = (32, 64)
MAX_RECORD_TOKENS = 384  # as the app's backend
log = logging.getLogger("bench.learn_sources")


def _records(task: Task, rows: np.ndarray) -> list[str]:
    """The rows' records as the app builds them (the gold column left out)."""
    frame = pl.read_csv(DATA / task.file)
    columns = record_columns(frame.columns, task.rule.references(), ["gold"])
    return records(frame, columns, rows.tolist())


def short_states(model: str, task: Task, base: dict) -> dict:
    """The task's rows judged again under the QUESTION_FIRST framing (states at bench.learn's
    depths); kept beside bench.learn's."""
    path = CACHE / model / f"{task.name}-short-{len(base['rows'])}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    backend = LlamaBackend(
        model_path(model), framing=Framing.QUESTION_FIRST, state_layers=_layers(N_LAYERS[model])
    )
    try:
        records = _records(task, base["rows"])
        start = time.perf_counter()
        answers = []
        for i in range(0, len(records), 16):
            answers += backend.judge(task.rule, records[i : i + 16])
        seconds = time.perf_counter() - start
    finally:
        backend.close()
    out = dict(base) | {
        "probs": np.asarray([a.probs for a in answers], dtype=np.float64),
        "states": np.stack([a.state for a in answers]).astype(np.float16),
        "seconds": np.asarray(seconds),
    }
    np.savez(path, **out)
    log.info("%s / %s, short: %d rows in %.0f s", model, task.name, len(records), seconds)
    return out


def pooled_states(model: str, task: Task, base: dict) -> np.ndarray:
    """Each row's record alone, mean-pooled over its tokens at the final layer."""
    path = CACHE / model / f"{task.name}-pooled-{len(base['rows'])}.npy"
    if path.exists():
        return np.load(path)
    import llama_cpp

    llm = llama_cpp.Llama(
        str(model_path(model)),
        embedding=True,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        n_ctx=4096,
        n_batch=2048,
        n_ubatch=2048,
        n_threads=2,
        verbose=False,
    )
    try:
        texts = []
        for record in _records(task, base["rows"]):
            tokens = llm.tokenize(record.encode(), add_bos=False)[:MAX_RECORD_TOKENS]
            texts.append(llm.detokenize(tokens).decode("utf-8", errors="ignore"))
        start = time.perf_counter()
        pooled = np.concatenate(
            [np.asarray(llm.embed(texts[i : i + 8])) for i in range(0, len(texts), 8)]
        )
        seconds = time.perf_counter() - start
    finally:
        llm.close()
    np.save(path, pooled.astype(np.float16))
    log.info("%s / %s, pooled: %d rows in %.0f s", model, task.name, len(texts), seconds)
    return pooled.astype(np.float16)


def random_curve(x: np.ndarray, y: np.ndarray, n_answer: int, n_scored: int) -> dict:
    """The head's balanced accuracy on the scored rows, labels at random from the pool,
    mean of RANDOM_DRAWS draws, per budget."""
    pool = np.arange(n_scored, len(y))
    out: dict = {}
    for budget in BUDGETS:
        scores = []
        for seed in range(RANDOM_DRAWS):
            picked = np.random.default_rng(seed).permutation(pool)[:budget]
            labels = np.zeros(len(y), dtype=bool)
            labels[picked] = True
            pred, _ = _predict(x, y[labels], labels, n_answer, True)
            scores.append(balanced_accuracy(pred[:n_scored], y[:n_scored]))
        out[str(budget)] = float(np.mean(scores))
    return out


def pooled_figures(data: dict, pooled: np.ndarray, flag: bool) -> dict:
    """The head over the pooled record state alone, and with the model's answer."""
    n = int(data["scored"])
    y = data["gold"]
    ans = answer_features(data["probs"][:, 0] if flag else data["probs"])
    z = Reducer.fit(pooled.astype(np.float64), 32).transform(pooled.astype(np.float64))
    return {
        "pooled alone": random_curve(z, y, 0, n),
        "answer + pooled": random_curve(np.hstack([ans, z]), y, ans.shape[1], n),
    }


def app_figures(data: dict, flag: bool) -> dict:
    """The app's head (answer + the answer-position state) on the same draws."""
    n = int(data["scored"])
    ans = answer_features(data["probs"][:, 0] if flag else data["probs"])
    state = _layer(data, "three quarters").astype(np.float64)
    z = Reducer.fit(state, 32).transform(state)
    return random_curve(np.hstack([ans, z]), data["gold"], ans.shape[1], n)


def suffix_speed(model: str, rounds: int = 3, rows: int = 48) -> dict:
    """Rows/s judging reviews with states kept, under the model's framing and with the
    question before the record only, alternately (medians of `rounds`)."""
    frame = pl.read_csv(DATA / "reviews.csv").sample(rows, seed=1)
    rule = load_tasks(["reviews"])[0].rule
    texts = records(frame, record_columns(frame.columns, rule.references(), ["gold"]), range(rows))
    rates: dict[str, list[float]] = {"question": [], "short": []}
    for _ in range(rounds):
        for name, framing in (("question", None), ("short", Framing.QUESTION_FIRST)):
            backend = LlamaBackend(model_path(model), framing=framing, keep_states=True)
            rates[name].append(rows_per_s(backend, rule, texts))
    medians = {k: float(np.median(v)) for k, v in rates.items()}
    return {
        "rows_per_s": rates,
        "medians": medians,
        "ratio": medians["short"] / medians["question"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--tasks", default="")
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--pooled", action="store_true")
    parser.add_argument("--speed", action="store_true", help="only rows/s, short suffix or not")
    parser.add_argument("--table", action="store_true", help="only the table, again")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.speed:
        saved = json.loads(OUT.read_text()) if OUT.exists() else {}
        saved.setdefault("speed", {})[args.model] = suffix_speed(args.model)
        OUT.write_text(json.dumps(saved, indent=1) + "\n")
        print(json.dumps(saved["speed"][args.model]))
        return
    if args.table:
        print(table(json.loads(OUT.read_text())))
        return
    tasks = load_tasks([t for t in args.tasks.split(",") if t] or None)
    saved = json.loads(OUT.read_text()) if OUT.exists() else {}
    run = saved.setdefault(args.model, {})
    for task in tasks:
        base = states_for(args.model, task, 80, 160, CACHE)
        flag = task.rule.kind is Kind.FLAG
        entry = run.setdefault(task.name, {"flag": flag})
        entry["app"] = app_figures(base, flag)
        if args.short:
            short = short_states(args.model, task, base)
            depth, k = APP.split("/")
            curve = evaluate(short, flag, depth, int(k), next_too=False)["random"]
            entry["short"] = {b: curve[b]["head"] for b in map(str, BUDGETS)}
            entry["seconds"] = {
                "question": float(base["seconds"]),
                "short": float(short["seconds"]),
            }
        if args.pooled:
            entry |= pooled_figures(base, pooled_states(args.model, task, base), flag)
        log.info("%s: %s", task.name, json.dumps(entry))
        OUT.write_text(json.dumps(saved, indent=1) + "\n")
    print(table(saved))


def table(saved: dict) -> str:
    """Per model and task: the app's head, and each source measured, at 32 / 64 labels."""
    lines = []
    for model, run in saved.items():
        if model == "speed":
            continue
        sources = [
            s
            for s in ("short", "pooled alone", "answer + pooled")
            if any(s in e for e in run.values())
        ]
        lines += [
            f"{model}: the head at 32 / 64 random labels (mean of {RANDOM_DRAWS} draws)",
            "",
            "| task | the app's | " + " | ".join(sources) + " |",
            "|---|---|" + "---|" * len(sources),
        ]
        for name, e in run.items():
            cells = [_pair(e.get("app"))] + [_pair(e.get(s)) for s in sources]
            lines.append(f"| {name}{'' if e['flag'] else ' (label)'} | " + " | ".join(cells) + " |")
        for label, flag in (("flag mean", True),):
            rows = [e for e in run.values() if e["flag"] == flag]
            cells = [_mean_pair(rows, "app")] + [_mean_pair(rows, s) for s in sources]
            lines.append(f"| **{label}** | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _pair(figures: dict | None) -> str:
    return f"{figures['32']:.2f} / {figures['64']:.2f}" if figures else "–"


def _mean_pair(rows: list[dict], source: str) -> str:
    have = [r[source] for r in rows if source in r]
    if not have or len(have) < len(rows):
        return "–"
    return " / ".join(f"{np.mean([h[b] for h in have]):.2f}" for b in ("32", "64"))


if __name__ == "__main__":
    main()
