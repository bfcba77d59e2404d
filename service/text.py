"""What people may type into names, descriptions, messages and email addresses: one rule for
each, applied where the text comes in (BAD_USER_INPUT naming the argument). Pure.

Text is stored as the NFC form of what was typed, so that one spelling is one value. Refused:
control characters (line breaks only where the field is multi-line), bidirectional overrides
and isolates (they make text display as something other than what it is), invisible format
characters other than the zero-width joiners that Arabic, Persian and Indic scripts and emoji
sequences need (at most two in a row), unassigned and private-use code points, and lengths
past the field's. Markup is not refused: ``<b>`` in a name is text, escaped wherever it is
shown.
"""

from __future__ import annotations

import re
import unicodedata

from service.errors import BadUserInput

JOINERS = frozenset("\u200c\u200d")
"""Zero-width non-joiner and joiner: part of how some scripts and emoji are written."""
LINE_BREAKS = frozenset("\n\t")
MAX_JOINERS_IN_A_ROW = 2
EMAIL_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
DOMAIN_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
MAX_EMAIL_LENGTH = 254
"""RFC 5321's limit on a forward path, less its angle brackets."""


def clean_text(value: str, *, argument: str, max_length: int, multiline: bool = False) -> str:
    """``value`` in NFC without surrounding space; BAD_USER_INPUT naming ``argument`` when it
    holds a character the rule refuses or is longer than ``max_length``."""
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > max_length:
        raise BadUserInput(
            f"{_label(argument)} is longer than {max_length} characters.", argument=argument
        )
    joiners = 0
    for char in text:
        joiners = joiners + 1 if char in JOINERS else 0
        if joiners > MAX_JOINERS_IN_A_ROW or _refused(char, multiline):
            raise BadUserInput(
                f"{_label(argument)} contains a character that cannot be shown as text "
                f"(U+{ord(char):04X} {unicodedata.name(char, 'a control character')}).",
                argument=argument,
            )
    return text


def _refused(char: str, multiline: bool) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return not (multiline and char in LINE_BREAKS)
    if category == "Cf":  # the bidi marks, overrides and isolates (U+202E...) are all Cf
        return char not in JOINERS
    return category in ("Cn", "Co", "Cs")


def normalize_email(value: str, argument: str = "email") -> str:
    """One rule for addresses: NFC, trimmed and lower-cased; a local part of the characters
    RFC 5322 allows unquoted (letters, digits and ``!#$%&'*+/=?^_`{|}~-``, dots between
    them); a domain of at least two letter-digit-hyphen labels (an internationalised one in
    its ``xn--`` form); 254 characters at most. Quoted local parts, comments, several
    addresses (``a,b@x``) and display forms (``x<y@z>``) are refused."""
    email = unicodedata.normalize("NFC", value).strip().lower()
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(email) > MAX_EMAIL_LENGTH
        or not 1 <= len(local) <= 64
        or not EMAIL_LOCAL.match(local)
        or len(labels) < 2
        or not all(DOMAIN_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise BadUserInput("Not a valid email address.", argument=argument)
    return email


def _label(argument: str) -> str:
    spaced = re.sub(r"(?<!^)([A-Z])", r" \1", argument).lower()
    return spaced[:1].upper() + spaced[1:]
