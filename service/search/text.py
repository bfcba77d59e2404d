"""What a person typed into a search box, made safe and comparable. Pure.

The text is folded like stored names (case, accents, dashes: ``fold_name``) and split into
words of letters and digits. Everything else (quotes, ``&``, ``|``, ``:*``, ``%``, ``\\``) only
separates words: no backend ever sees search syntax from a user. A query without a word that
is not a stop word finds nothing; an empty or blank one is no search at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.errors import BadUserInput
from service.researchers.names import fold_name
from service.search.stopwords import ENGLISH_STOP_WORDS

MAX_SEARCH_LENGTH = 200
MAX_NAME_WORDS = 4
"""Words of a text that a name must each hold (``name_words``); more are rare in a name typed."""
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script


@dataclass(frozen=True, slots=True)
class SearchText:
    folded: str
    """The words joined by single spaces: what names are compared with."""
    words: tuple[str, ...]
    terms: tuple[str, ...]
    """The words that are not stop words, in order, without repeats."""

    @property
    def finds_nothing(self) -> bool:
        return not self.terms

    def name_words(self) -> tuple[str, ...]:
        return name_words(self.folded)

    def trigrams(self) -> tuple[str, ...]:
        """The distinct three-letter pieces of the words (SQLite's trigram index matches
        these); empty when every word is shorter."""
        seen: dict[str, None] = {}
        for word in self.words:
            for i in range(len(word) - 2):
                seen.setdefault(word[i : i + 3], None)
        return tuple(seen)


def name_words(folded: str) -> tuple[str, ...]:
    """The words of a folded text that a matching name must each hold (a word of the name as
    similar to it as a whole name must be to the text): its words of two letters or more that
    are not stop words, longest first, at most ``MAX_NAME_WORDS``; none when the text is one
    word (the whole text is that condition). Without them, "Noah Pereira" matched every
    Pereira: the longer word alone made the text similar enough."""
    words = folded.split()
    if len(words) < 2:
        return ()
    wanted = dict.fromkeys(w for w in words if len(w) >= 2 and w not in ENGLISH_STOP_WORDS)
    return tuple(sorted(wanted, key=len, reverse=True)[:MAX_NAME_WORDS])


def parse_search(value: str | None, *, argument: str = "search") -> SearchText | None:
    """``None`` for no search (absent, empty or blank); BAD_USER_INPUT naming ``argument``
    past ``MAX_SEARCH_LENGTH`` characters."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_SEARCH_LENGTH:
        raise BadUserInput(
            f"`{argument}` is longer than {MAX_SEARCH_LENGTH} characters.", argument=argument
        )
    words = tuple(_WORD.findall(fold_name(value)))
    terms = tuple(dict.fromkeys(w for w in words if w not in ENGLISH_STOP_WORDS))
    return SearchText(folded=" ".join(words), words=words, terms=terms)
