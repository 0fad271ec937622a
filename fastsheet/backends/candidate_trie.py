"""Candidate answers as a token trie: P(candidate) from the model's next-token logits.

Candidates whose tokenizations share a prefix ("Yes" / "Yesterday", labels that start
alike) are scored as whole token sequences: every branching node below the root needs the
logits after its own path, which the backend decodes as one extra sequence per node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrieNode:
    """A token-trie node: children by token, and the candidate ending here, if any."""

    children: dict[int, TrieNode] = field(default_factory=dict)
    candidate: int | None = None
    path: tuple[int, ...] = ()

    def branches(self) -> bool:
        return len(self.children) + (self.candidate is not None) > 1


class CandidateTrie:
    """The candidates of one rule, tokenized after the prompt's answer lead."""

    def __init__(
        self, candidates: Sequence[str], lead: str, tokenize: Callable[[str], list[int]]
    ) -> None:
        self.n = len(candidates)
        self.root = TrieNode()
        for index, candidate in enumerate(candidates):
            for variant in dict.fromkeys((candidate, candidate.lower(), candidate.capitalize())):
                tokens = tokenize(lead + variant)
                node = self.root
                for depth, token in enumerate(tokens):
                    node = node.children.setdefault(
                        token, TrieNode(path=tuple(tokens[: depth + 1]))
                    )
                if node.candidate is None:
                    node.candidate = index
        #: branching nodes below the root, each needs its own logits
        self.deep: list[TrieNode] = []
        stack = list(self.root.children.values())
        while stack:
            node = stack.pop()
            if node.branches():
                self.deep.append(node)
            stack.extend(node.children.values())

    def probs(self, root_lp: np.ndarray, deep: dict[tuple[int, ...], np.ndarray]) -> list[float]:
        """P(candidate) from branching probabilities along each trie path, normalised."""
        scores = np.zeros(self.n)

        def walk(node: TrieNode, lp: np.ndarray | None, acc: float) -> None:
            if lp is not None and node.branches():
                child_p = {t: float(np.exp(lp[t])) for t in node.children}
                if node.candidate is not None:
                    scores[node.candidate] += acc * max(1e-9, 1.0 - sum(child_p.values()))
                for token, child in node.children.items():
                    walk(child, deep.get(child.path), acc * child_p[token])
            else:
                if node.candidate is not None:
                    scores[node.candidate] += acc
                for child in node.children.values():
                    walk(child, deep.get(child.path), acc)

        walk(self.root, root_lp, 1.0)
        total = scores.sum()
        if total <= 0:
            return [1.0 / self.n] * self.n
        return list(scores / total)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    top = float(logits.max())
    return logits - (top + float(np.log(np.exp(logits - top).sum())))
