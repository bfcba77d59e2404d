"""Name folding for search: case-, accent- and dash-insensitive. Pure."""

from __future__ import annotations

import re
import unicodedata

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
# Letters that Unicode does not decompose into a base letter and an accent; spelled as
# PostgreSQL's unaccent and ASCII transliteration spell them ("Søren" is found as "soren").
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "\u0131": "i",  # dotless i
    }
)
_SPACES = re.compile(r"\s+")


def fold_name(name: str) -> str:
    """``"Péter  Móra"`` -> ``"peter mora"``; ``"Yu\u2010Shu Wu"`` -> ``"yu-shu wu"``;
    ``"Søren Łukasz"`` -> ``"soren lukasz"``."""
    if name.isascii():  # most names: nothing to decompose
        return _SPACES.sub(" ", name.casefold()).strip()
    decomposed = unicodedata.normalize("NFKD", name.translate(_DASHES).translate(_LETTERS))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped.casefold()).strip()
