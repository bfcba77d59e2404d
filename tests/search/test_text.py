"""What a search text becomes (folded words, terms without stop words, no syntax), and the
trigram similarities SQLite matches and ranks names with, compared with PostgreSQL's pg_trgm on
every name of the KFUPM authors file against misspellings of each other."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from service.errors import BadUserInput
from service.search.scoring import has_terms, name_matches, name_score, name_tier, text_score
from service.search.text import MAX_NAME_WORDS, MAX_SEARCH_LENGTH, name_words, parse_search
from service.search.trigrams import similarity, strict_word_similarity, word_similarity
from tests.imports.support import AUTHORS_FILE, read_jsonl
from tests.support import create_database, drop_database


class TestParse:
    @pytest.mark.parametrize("typed", [None, "", "   ", "\t\n"])
    def test_empty_or_blank_is_no_search(self, typed: str | None) -> None:
        assert parse_search(typed) is None

    def test_over_long_names_the_argument(self) -> None:
        with pytest.raises(BadUserInput) as raised:
            parse_search("a" * (MAX_SEARCH_LENGTH + 1), argument="text")
        assert raised.value.extensions["argument"] == "text"
        assert parse_search("a" * MAX_SEARCH_LENGTH) is not None

    def test_syntax_characters_only_separate_words(self) -> None:
        parsed = parse_search('"deep" & learning | graph:* 100% \\ (not) <-> !x')
        assert parsed is not None
        assert parsed.words == ("deep", "learning", "graph", "100", "not", "x")
        assert parsed.terms == ("deep", "learning", "graph", "100", "x")

    @pytest.mark.parametrize("typed", ["the of and", "!!! ??? ***", "it is what it is", "—"])
    def test_stop_words_or_punctuation_find_nothing(self, typed: str) -> None:
        parsed = parse_search(typed)
        assert parsed is not None and parsed.finds_nothing

    def test_folding_matches_stored_names(self) -> None:
        parsed = parse_search("Søren  KIERKEGÅRD\u2010Łódź")
        assert parsed is not None
        assert parsed.folded == "soren kierkegard lodz"
        assert parsed.trigrams()[:3] == ("sor", "ore", "ren")


class TestScoring:
    def test_exact_then_prefix_then_whole_later_words(self) -> None:
        assert name_tier("ana lima", "ana lima") == 3
        assert name_tier("ana", "ana lima") == 2
        assert name_tier("lima", "ana lima") == 1
        assert name_tier("maria lima", "ana maria lima") == 1
        assert name_tier("lim", "ana lima") == 0
        assert name_tier("ima", "ana lima") == 0
        ranked = sorted(
            ["ana limas", "ana lima", "joana lima"], key=lambda n: -name_score("ana lima", n)
        )
        assert ranked == ["ana lima", "ana limas", "joana lima"]

    @pytest.mark.parametrize(
        ("folded", "words"),
        [
            ("pereira", ()),  # one word: the text itself
            ("noah pereira", ("pereira", "noah")),  # longest first
            ("noah j pereira", ("pereira", "noah")),  # an initial is not required
            ("li wang", ("wang", "li")),
            ("university of the andes", ("university", "andes")),  # nor are stop words
            ("wang wang", ("wang",)),
        ],
    )
    def test_the_words_a_name_must_hold(self, folded: str, words: tuple[str, ...]) -> None:
        assert name_words(folded) == words

    def test_at_most_a_few_words_are_required(self) -> None:
        typed = "alpha bravo charlie delta echo foxtrot"
        assert len(name_words(typed)) == MAX_NAME_WORDS

    def test_a_full_name_matches_its_holders_not_the_namesakes_of_one_word(self) -> None:
        assert name_matches("noah pereira", "noah pereira")
        assert name_matches("noah pereira", "noah a pereira")
        assert name_matches("noah pereira", "pereira noah")  # in any order
        assert name_matches("noa pereir", "noah pereira")  # misspelled
        assert name_matches("j smith", "j smith")
        assert name_matches("mohamed mahmuod", "mohamed mahmoud")  # one word far off
        # "pereira" alone made the whole text similar enough (0.6): every Pereira matched.
        assert word_similarity("noah pereira", "emma pereira") >= 0.6
        assert not name_matches("noah pereira", "emma pereira")

    def test_title_words_weigh_more_than_abstract_words_and_a_title_phrase_most(self) -> None:
        in_title = text_score("shear bands", "shear bands", "Shear bands in sand", None)
        scattered = text_score("shear bands", "shear bands", "Bands of shear", None)
        in_abstract = text_score("shear bands", "shear bands", "Sand", "Shear bands form.")
        assert in_title > scattered > in_abstract > 0
        assert text_score("", "", "Shear", None) == 0.0

    def test_terms_match_other_forms_of_a_word(self) -> None:
        assert has_terms("network learn", "Neural Networks and Learning")
        assert not has_terms("network graph", "Neural Networks and Learning")


@pytest.fixture(scope="module")
def pg_trgm_pairs(
    tmp_path_factory: pytest.TempPathFactory,
) -> list[tuple[str, str, float, float, float]]:
    """(a, b, similarity, word_similarity, strict_word_similarity) by pg_trgm for names
    against each other, against misspellings of themselves, and for words of those."""
    names = sorted({a["display_name"].lower() for a in read_jsonl(AUTHORS_FILE)})
    rng = random.Random(3)
    typos = []
    for name in names:
        chars = list(name)
        i = rng.randrange(len(chars) - 1)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
        typos.append("".join(chars))
    pairs = [(t, n) for t, n in zip(typos, names, strict=True)]
    pairs += [(a, b) for a in names[:20] for b in names[20:40]]
    pairs += [(n.split()[-1], n) for n in names]
    pairs += [(t.split()[0], n) for t, n in zip(typos, names, strict=True)]

    async def ask() -> list[tuple[str, str, float, float, float]]:
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(
                "SELECT a, b, similarity(a, b), word_similarity(a, b), "
                "strict_word_similarity(a, b) "
                "FROM unnest($1::text[], $2::text[]) AS p(a, b)",
                [a for a, _ in pairs],
                [b for _, b in pairs],
            )
        finally:
            await connection.close()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    url = create_database("postgresql", tmp_path_factory.mktemp("trgm"))  # has pg_trgm
    try:
        return asyncio.run(ask())
    finally:
        drop_database(url)


class TestTrigramsAgreeWithPgTrgm:
    def test_similarity(self, pg_trgm_pairs: list[tuple[str, str, float, float, float]]) -> None:
        assert len(pg_trgm_pairs) > 500
        for a, b, expected, _, _ in pg_trgm_pairs:
            assert similarity(a, b) == pytest.approx(expected, abs=1e-6), (a, b)

    def test_word_similarity(
        self, pg_trgm_pairs: list[tuple[str, str, float, float, float]]
    ) -> None:
        for a, b, _, expected, _ in pg_trgm_pairs:
            assert word_similarity(a, b) == pytest.approx(expected, abs=1e-6), (a, b)

    def test_strict_word_similarity(
        self, pg_trgm_pairs: list[tuple[str, str, float, float, float]]
    ) -> None:
        for a, b, _, _, expected in pg_trgm_pairs:
            assert strict_word_similarity(a, b) == pytest.approx(expected, abs=1e-6), (a, b)
