"""Trigram similarity as PostgreSQL's pg_trgm computes it, for the embedded SQLite backend, so
that a name ranks the same on both. Pure.

A word (letters and digits) is padded with two spaces in front and one behind; its trigrams
are the three-character windows. ``similarity`` is the Jaccard index of two strings' trigram
sets; ``word_similarity(a, b)`` the best Jaccard index of ``a``'s set against any run of
consecutive trigrams of ``b`` (``a`` found as a part of ``b``).
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")


def _word_trigrams(word: str) -> list[str]:
    padded = f"  {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


@lru_cache(maxsize=4096)
def ordered_trigrams(text: str) -> tuple[str, ...]:
    return tuple(t for word in _WORD.findall(text.lower()) for t in _word_trigrams(word))


def similarity(a: str, b: str) -> float:
    first, second = set(ordered_trigrams(a)), set(ordered_trigrams(b))
    if not first or not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)


def word_similarity(a: str, b: str) -> float:
    first = set(ordered_trigrams(a))
    second = ordered_trigrams(b)
    if not first or not second:
        return 0.0
    best = 0.0
    for start, trigram in enumerate(second):
        if trigram not in first:
            continue  # an extent that starts off a shared trigram only scores lower
        extent: set[str] = set()
        shared = 0
        for current in second[start:]:
            if current not in extent:
                extent.add(current)
                shared += current in first
            if current in first:
                best = max(best, shared / (len(first) + len(extent) - shared))
    return best


def strict_word_similarity(a: str, b: str) -> float:
    """The best Jaccard index of ``a``'s set against the trigrams of any run of whole words of
    ``b`` (pg_trgm's ``strict_word_similarity``)."""
    first = set(ordered_trigrams(a))
    words = [_word_trigrams(word) for word in _WORD.findall(b.lower())]
    if not first or not words:
        return 0.0
    best = 0.0
    for start in range(len(words)):
        extent: set[str] = set()
        for word in words[start:]:
            extent.update(word)
            shared = len(first & extent)
            best = max(best, shared / (len(first) + len(extent) - shared))
    return best
