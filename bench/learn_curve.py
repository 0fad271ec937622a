"""The learning curve: a head or a recalibrated answer from 8-64 labels, picked at random
or by label next, scored on the scored rows with no model call.
"""

from __future__ import annotations

import numpy as np

from bench.learn_states import (
    BUDGETS,
    FIRST_MARKS,
    RANDOM_DRAWS,
    _layer,
    _own_decision,
)
from fastsheet.learning.label_next import label_next
from fastsheet.learning.learned import own_bias
from fastsheet.stats.head import (
    Reducer,
    answer_features,
    balanced_accuracy,
    choose_head,
    fit_head,
)


def _predict(
    x: np.ndarray,
    y_rows: np.ndarray,
    labels: np.ndarray,
    n_answer: int,
    use_head: bool,
    bias: float = 0.0,
):
    """Fit on the labelled rows and predict every row: the head, or the answer alone
    (`bias`: the model's own decision's offset, which the fit starts from)."""
    cols = slice(None) if use_head else slice(0, n_answer)
    choice = choose_head(x[labels][:, cols], y_rows, n_answer, bias=bias) if use_head else None
    penalty = choice.penalty if choice is not None else None
    if use_head and penalty is None:
        cols = slice(0, n_answer)
    if len(np.unique(y_rows)) < 2:
        return np.full(len(x), y_rows[0]), choice
    head = fit_head(x[labels][:, cols], y_rows, penalty or 1e6, n_answer, bias=bias)
    return head.predict(x[:, cols]), choice


def curve(data: dict, flag: bool, depth: str, k: int, select: str, seed: int) -> dict:
    """Balanced accuracy on the scored rows at each label budget, for one way of choosing."""
    n_scored = int(data["scored"])
    y = data["gold"]
    probs = data["probs"][:, 0] if flag else data["probs"]
    ans = answer_features(probs)
    z = Reducer.fit(_layer(data, depth), k).transform(_layer(data, depth))
    x = np.hstack([ans, z])
    bias = own_bias(data["probs"][:, 0]) if flag else 0.0
    pool = np.arange(n_scored, len(y))
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(pool))
    labelled = np.zeros(len(y), dtype=bool)
    out: dict = {}
    picked: list[int] = []
    for budget in BUDGETS:
        if select == "random":
            picked = order[:budget]
        else:
            if not picked:
                picked = order[:FIRST_MARKS]
            while len(picked) < budget:
                labelled[:] = False
                labelled[picked] = True
                current = _current_probs(x, y, labelled, ans.shape[1], probs, flag, bias)
                nxt = label_next(current, z, labelled | (np.arange(len(y)) < n_scored), 1)
                picked.append(nxt[0])
        labels = np.zeros(len(y), dtype=bool)
        labels[picked] = True
        pred_head, choice = _predict(x, y[labels], labels, ans.shape[1], True, bias)
        pred_answer, _ = _predict(x, y[labels], labels, ans.shape[1], False, bias)
        scored = slice(0, n_scored)
        out[budget] = {
            "head": balanced_accuracy(pred_head[scored], y[scored]),
            "threshold": balanced_accuracy(pred_answer[scored], y[scored]),
            "learned": bool(choice is not None and choice.penalty is not None),
            "picked": [int(i) for i in picked],
        }
    return out


def _current_probs(x, y, labelled, n_answer, probs, flag, bias=0.0) -> np.ndarray:
    """What the app would decide with the labels so far (before 8 labels: the answer)."""
    rows = np.flatnonzero(labelled)
    if len(rows) < 8 or len(np.unique(y[rows])) < 2:
        return probs
    choice = choose_head(x[rows], y[rows], n_answer, bias=bias)
    cols = slice(None) if choice.penalty is not None else slice(0, n_answer)
    head = fit_head(x[rows][:, cols], y[rows], choice.penalty or 1e6, n_answer, bias=bias)
    p = head.proba(x[:, cols])
    if flag:
        return p[:, list(head.classes).index(1.0)] if 1.0 in head.classes else p[:, 0] * 0
    full = np.zeros((len(x), probs.shape[1]))
    full[:, head.classes.astype(int)] = p
    return full


def zero_shot(data: dict, flag: bool) -> float:
    n = int(data["scored"])
    return balanced_accuracy(_own_decision(data["probs"], flag)[:n], data["gold"][:n])


def evaluate(data: dict, flag: bool, depth: str, k: int, next_too: bool) -> dict:
    draws = [curve(data, flag, depth, k, "random", s) for s in range(RANDOM_DRAWS)]
    for draw in draws[1:]:
        for b in BUDGETS:
            draw[b].pop("picked")
    out = {
        "random": {
            str(b): {m: float(np.mean([d[b][m] for d in draws])) for m in ("head", "threshold")}
            | {"picked": draws[0][b]["picked"]}  # the first draw's labels (teaching reuses them)
            for b in BUDGETS
        }
    }
    if next_too:
        out["next"] = {
            str(b): {m: v for m, v in r.items() if m != "learned"}  # with the labels picked
            for b, r in curve(data, flag, depth, k, "next", 0).items()
        }
    return out
