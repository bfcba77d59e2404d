"""How relevant a name or a text is to a search, as plain functions. The PostgreSQL index
computes the same in SQL (pg_trgm, ts_rank); SQLite calls these (``sqlite_functions.py``).
Pure."""

from __future__ import annotations

import re

from service.researchers.names import fold_name
from service.search.text import name_words
from service.search.trigrams import strict_word_similarity, word_similarity

WORD_SIMILAR = 0.6
"""pg_trgm's ``word_similarity_threshold``: a name matches when a run of it is this similar to
the text. (Whole-name similarity at pg_trgm's 0.3 also matched every namesake of one word of
a two-word name: 16,000 candidates for "Elena Petrov" at a million researchers.)"""
NAME_WORD_SIMILAR = 0.25
"""How similar to whole words of the name (pg_trgm's ``strict_word_similarity``) each of the
text's ``name_words`` must be besides: enough to rule out the namesakes of one word ("Emma
Pereira" for "Noah Pereira": 0), not so much that a misspelled word loses the person. Of 300
KFUPM names typed with two letters of their longest word swapped, the whole text finds 199;
with 0.5 per word 53 of them remain, with 0.25 196."""
TITLE_WEIGHT = 1.0
ABSTRACT_WEIGHT = 0.4
"""ts_rank's default weights of A (title) and B (abstract)."""
PHRASE_BONUS = 1.0
"""The words of the search, in order, in the title (in an abstract, a phrase is often there
in passing: its words count, not their order)."""
TOPIC_BONUS = 1.0
"""The work has a topic whose name holds every word of the search: a topic's name typed in
full asks for its works before works that merely mention the words."""
_WORD = re.compile(r"[^\W_]+")


def name_tier(folded_query: str, name: str) -> int:
    """3: the whole name; 2: the name starts with the text; 1: later words of it are the
    text; 0: else. (Later words that merely start with the text rank by similarity alone: the
    tiers of a name's whole words can be looked up, so the best holders of a common word are
    read first instead of ranked among all of them; ``search_researcher_words``.)"""
    if name == folded_query:
        return 3
    if name.startswith(folded_query):
        return 2
    return 1 if f" {folded_query} " in f" {name} " else 0


def name_matches(folded_query: str, name: str) -> bool:
    """The text as a whole similar to a run of the name, and each of its ``name_words`` to
    whole words of it."""
    return word_similarity(folded_query, name) >= WORD_SIMILAR and all(
        strict_word_similarity(word, name) >= NAME_WORD_SIMILAR for word in name_words(folded_query)
    )


def name_score(folded_query: str, name: str) -> float:
    return name_tier(folded_query, name) + word_similarity(folded_query, name)


def _words(text: str | None) -> list[str]:
    return _WORD.findall(fold_name(text)) if text else []


def _has_term(words: list[str], term: str) -> bool:
    # A stand-in for stemming: "network" finds "networks", "learn" finds "learning".
    return any(
        word.startswith(term) or (term.startswith(word) and len(word) >= 4) for word in words
    )


def _has_phrase(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return n > 1 and any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def text_score(terms: str, phrase: str, title: str, abstract: str | None) -> float:
    """``terms`` (space-separated, stop words out) weighted by where they occur, as a share
    of all of them, plus ``PHRASE_BONUS`` when ``phrase`` (the search's words in order) is in
    the title."""
    wanted = terms.split()
    if not wanted:
        return 0.0
    title_words, abstract_words = _words(title), _words(abstract)
    weight = sum(
        TITLE_WEIGHT * _has_term(title_words, term)
        + ABSTRACT_WEIGHT * _has_term(abstract_words, term)
        for term in wanted
    )
    bonus = PHRASE_BONUS if _has_phrase(title_words, phrase.split()) else 0.0
    return weight / len(wanted) + bonus


def has_terms(terms: str, name: str) -> bool:
    """Whether the folded ``name`` holds every term (as a word or the start of one)."""
    words = _words(name)
    return all(_has_term(words, term) for term in terms.split())
