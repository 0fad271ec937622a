"""Unlabelled threshold policies compared offline, on the per-row scores an accuracy run stored.

`python -m bench.thresholds bench/accuracy_default_150.json` prints, per flag task and
policy, the balanced accuracy and the flag rate, then each policy's mean, worst task and
flag rate against the true rate. No model call: it reads `p_yes`, `gold` and
`content_free_p` from `python -m bench.accuracy` output.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fastsheet.stats.calibrate import content_free, distribution, logit, mixture
from fastsheet.stats.metrics import binary_agreement

log = logging.getLogger("bench.thresholds")

Policy = Callable[[np.ndarray, list[float]], float]


def top_component_cut(p: np.ndarray, k: int = 3, iterations: int = 300) -> float:
    """Where a k-Gaussian mixture on logit(p) switches to its highest component."""
    x = logit(np.asarray(p, dtype=float))
    mean = np.percentile(x, np.linspace(100 / (2 * k), 100 - 100 / (2 * k), k))
    var = np.full(k, np.var(x) / k**2 + 1e-3)
    weight = np.full(k, 1 / k)
    floor = max(float(np.var(x)) * 1e-3, 1e-4)
    for _ in range(iterations):
        dens = weight * np.exp(-((x[:, None] - mean) ** 2) / (2 * var)) / np.sqrt(var)
        resp = dens / np.clip(dens.sum(axis=1, keepdims=True), 1e-300, None)
        nk = resp.sum(axis=0) + 1e-9
        mean = (resp * x[:, None]).sum(axis=0) / nk
        var = np.maximum((resp * (x[:, None] - mean) ** 2).sum(axis=0) / nk, floor)
        weight = nk / nk.sum()
    order = np.argsort(mean)
    top = order[-1]
    grid = np.linspace(mean[order[0]], mean[top], 1024)
    dens = weight[:, None] * np.exp(-((grid - mean[:, None]) ** 2) / (2 * var[:, None]))
    dens /= np.sqrt(var[:, None])
    above = np.flatnonzero(dens[top] >= dens.max(axis=0))
    cut = grid[above[0]] if len(above) else mean[top]
    return float(1 / (1 + np.exp(-cut)))


POLICIES: dict[str, Policy] = {
    "mixture (the app's)": lambda p, cf: mixture(p).value,
    "Otsu": lambda p, cf: distribution(p).value,
    "p > 0.5": lambda p, cf: 0.5,
    "content-free": lambda p, cf: content_free(cf).value,
    "max(mixture, content-free)": lambda p, cf: max(mixture(p).value, content_free(cf).value),
    "max(mixture, 0.5)": lambda p, cf: max(mixture(p).value, 0.5),
    "mean(mixture, Otsu)": lambda p, cf: (mixture(p).value + distribution(p).value) / 2,
    "3-component mixture, top": lambda p, cf: top_component_cut(p, 3),
}


def compare(results: dict) -> str:
    lines = []
    for model, framings in results["models"].items():
        for framing, run in framings.items():
            lines.append(f"{model}, framing {framing}")
            scores: dict[str, list[tuple[float, float, str]]] = {k: [] for k in POLICIES}
            for name, task in run["tasks"].items():
                if "p_yes" not in task:
                    continue
                p, gold = np.asarray(task["p_yes"]), np.asarray(task["gold"], dtype=bool)
                for policy, fit in POLICIES.items():
                    decision = p >= fit(p, task["content_free_p"])
                    agreement = binary_agreement(decision, gold)
                    ratio = float(decision.mean() / max(gold.mean(), 1e-9))
                    scores[policy].append((agreement.balanced_accuracy, ratio, name))
            for policy, rows in scores.items():
                if not rows:
                    continue
                values = [r[0] for r in rows]
                worst = min(rows)
                ratios = " ".join(f"{r[2][:12]} {r[1]:.1f}x" for r in rows)
                lines.append(
                    f"  {policy:28s} mean {np.mean(values):.3f}  worst {worst[0]:.3f} "
                    f"({worst[2]})  flagged/true: {ratios}"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="JSON written by python -m bench.accuracy")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("%s", compare(json.loads(args.results.read_text())))


if __name__ == "__main__":
    main()
