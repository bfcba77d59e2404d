from __future__ import annotations

import pytest

from service.errors import BadUserInput
from service.researchers.names import fold_name
from service.researchers.service import normalize_openalex_author_id, normalize_orcid


class TestFoldName:
    def test_case_and_accents(self) -> None:
        assert fold_name("Péter  Móra") == "peter mora"

    def test_unicode_hyphen(self) -> None:
        assert fold_name("Yu\u2010Shu Wu") == fold_name("yu-shu wu") == "yu-shu wu"


class TestOrcid:
    def test_valid_forms(self) -> None:
        assert normalize_orcid("0000-0001-7056-6323") == "0000-0001-7056-6323"
        assert normalize_orcid("https://orcid.org/0000-0002-1694-233X") == "0000-0002-1694-233X"

    @pytest.mark.parametrize(
        "value", ["0000-0001-7056-6324", "0000000170566323", "abcd-0001-7056-6323", ""]
    )
    def test_malformed(self, value: str) -> None:
        with pytest.raises(BadUserInput):
            normalize_orcid(value)


class TestOpenAlexId:
    def test_forms(self) -> None:
        assert normalize_openalex_author_id("https://openalex.org/A5000180362") == "A5000180362"
        assert normalize_openalex_author_id("a5000180362") == "A5000180362"

    @pytest.mark.parametrize("value", ["W123", "A", "A12x", ""])
    def test_malformed(self, value: str) -> None:
        with pytest.raises(BadUserInput):
            normalize_openalex_author_id(value)
