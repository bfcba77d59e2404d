"""A synthetic research graph for benchmarks, generated deterministically from a seed.

Shape (defaults scale with ``researchers`` and ``works``):

- researchers live in communities (lognormal sizes, about 50 members) with their own topics,
  institutions and venues; a researcher's productivity is Pareto-distributed (alpha 2, capped),
  so most have a handful of works and a few have hundreds;
- authors per work: mostly 2-6, a long tail to 60 (mean about 5.3); 85% of a work's authors come
  from its community, the rest from anywhere (weighted by productivity), which gives the
  co-author graph both clusters and bridges. ``GraphSize.head_authors`` and
  ``GraphSize.tail_permille`` thin it out (``graph_bench_size``, for the co-author graph
  benchmark: mean about 3.55, largest 60, about 4.8 distinct co-author pairs per work instead
  of about 18);
- 1-3 topics per work, mostly from the community's topics; a 4-level topic hierarchy;
- about 65% of researchers have an affiliation, about 45% of their authorships name it;
- persistent ids (DOI, arXiv, OpenAlex) on most works; abstracts of 5-10 sentences;
- accounts that follow researchers (popular ones more), and claims (half of them verified), so
  that trust scores spread over several bands.

Only the source tables are generated here; ``bench.database`` loads them and computes the derived
ones.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.researchers.names import fold_name
from service.researchers.service import orcid_from_digits

Row = tuple[Any, ...]

GIVEN_NAMES = (
    "Aiko",
    "Alejandro",
    "Amara",
    "Ana",
    "Andrei",
    "Anna",
    "Arjun",
    "Astrid",
    "Björn",
    "Carlos",
    "Chen",
    "Chiara",
    "Daniel",
    "David",
    "Dong",
    "Elena",
    "Emeka",
    "Emma",
    "Fatima",
    "Felix",
    "François",
    "Gabriel",
    "Hana",
    "Hannah",
    "Hiroshi",
    "Ibrahim",
    "Ines",
    "Ingrid",
    "Isabel",
    "Jacob",
    "Jiacheng",
    "Jin",
    "Jonas",
    "José",
    "Julia",
    "Kaiyue",
    "Kenji",
    "Kofi",
    "Laura",
    "Lea",
    "Lei",
    "Leila",
    "Li",
    "Lucas",
    "Luis",
    "Maria",
    "Marta",
    "Mateus",
    "Mei",
    "Mohammed",
    "Nadia",
    "Naveen",
    "Nikolai",
    "Noah",
    "Olga",
    "Omar",
    "Oscar",
    "Paula",
    "Pedro",
    "Péter",
    "Priya",
    "Rafael",
    "Ravi",
    "Rosa",
    "Sakura",
    "Samuel",
    "Sara",
    "Sebastian",
    "Sofia",
    "Søren",
    "Tomasz",
    "Wei",
    "Weixuan",
    "Xin",
    "Yiran",
    "Yu",
    "Yuki",
    "Zexiang",
    "Zhen",
    "Zoë",
)
FAMILY_NAMES = (
    "Abe",
    "Adeyemi",
    "Andersen",
    "Bauer",
    "Becker",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksson",
    "Fernández",
    "Fischer",
    "García",
    "Gomes",
    "González",
    "Gupta",
    "Hansen",
    "Hernández",
    "Horvath",
    "Huang",
    "Ivanov",
    "Jansen",
    "Jensen",
    "Kim",
    "Kowalski",
    "Kumar",
    "Lee",
    "Li",
    "Liu",
    "Lopez",
    "Lu",
    "Martin",
    "Martínez",
    "Mora",
    "Müller",
    "Nakamura",
    "Nguyen",
    "Novák",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Pereira",
    "Petrov",
    "Qin",
    "Rodríguez",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Sun",
    "Suzuki",
    "Tanaka",
    "Wang",
    "Weber",
    "Wu",
    "Xu",
    "Yamamoto",
    "Yang",
    "Zhang",
    "Zhao",
    "Zhong",
    "Zhou",
)
WORDS = (
    "adaptive",
    "algorithm",
    "analysis",
    "approach",
    "architecture",
    "attention",
    "bayesian",
    "benchmark",
    "biological",
    "boundary",
    "catalysis",
    "cellular",
    "climate",
    "clinical",
    "cohort",
    "complex",
    "compression",
    "computational",
    "constraint",
    "control",
    "convergence",
    "correlation",
    "coupling",
    "data",
    "decay",
    "deep",
    "density",
    "design",
    "detection",
    "diffusion",
    "dynamics",
    "efficient",
    "electron",
    "embedding",
    "emergent",
    "energy",
    "ensemble",
    "entropy",
    "equilibrium",
    "estimation",
    "evolution",
    "experimental",
    "field",
    "flow",
    "framework",
    "function",
    "gene",
    "generative",
    "geometry",
    "gradient",
    "graph",
    "growth",
    "heterogeneous",
    "inference",
    "interaction",
    "kernel",
    "kinetics",
    "lattice",
    "learning",
    "linear",
    "magnetic",
    "manifold",
    "mechanism",
    "metabolic",
    "method",
    "model",
    "molecular",
    "multiscale",
    "network",
    "neural",
    "nonlinear",
    "optimal",
    "optimization",
    "particle",
    "pattern",
    "phase",
    "population",
    "prediction",
    "probabilistic",
    "protein",
    "quantum",
    "random",
    "regression",
    "reinforcement",
    "representation",
    "response",
    "robust",
    "sampling",
    "scalable",
    "search",
    "signal",
    "simulation",
    "sparse",
    "spectral",
    "stability",
    "statistical",
    "stochastic",
    "structure",
    "surface",
    "synthesis",
    "system",
    "temporal",
    "theory",
    "thermal",
    "topology",
    "transformer",
    "transport",
    "uncertainty",
    "variational",
)
COUNTRIES = ("US", "CN", "DE", "GB", "JP", "FR", "IN", "BR", "CA", "IT", "ES", "KR", "NL", "SE")
INSTITUTION_TYPES = (
    "education",
    "education",
    "education",
    "facility",
    "company",
    "government",
    "nonprofit",
    "healthcare",
)
DOMAIN_NAMES = ("Physical Sciences", "Life Sciences", "Health Sciences", "Social Sciences")
WORK_TYPES = (
    ("ARTICLE", 62.0),
    ("PROCEEDINGS_ARTICLE", 9.0),
    ("PREPRINT", 6.0),
    ("BOOK_CHAPTER", 5.0),
    ("REVIEW", 4.0),
    ("DATASET", 2.0),
    ("DISSERTATION", 1.5),
    ("REPORT", 1.0),
    ("BOOK", 0.5),
    ("OTHER", 1.0),
)

ARXIV_VENUE_ID = 1
"""Venue 1 is arXiv; works there are preprints with an arXiv id."""
PRODUCTIVITY_ALPHA = 2.0
PRODUCTIVITY_CAP = 150.0
OUTSIDE_AUTHOR_SHARE = 0.15
"""Share of a work's author slots filled from the whole graph instead of its community."""
AFFILIATED_SHARE = 0.65
AUTHORSHIP_INSTITUTION_SHARE = 0.45
MAX_AUTHORS = 60
HEAD_AUTHORS = 10
"""Author counts up to this come from a table of frequencies, larger ones from a power law."""
TAIL_PERMILLE = 60
"""About how many works per thousand have more than ``HEAD_AUTHORS`` authors."""
FIELDS_PER_PARENT = 5
"""Fields per domain and subfields per field."""
SUBFIELDS = len(DOMAIN_NAMES) * FIELDS_PER_PARENT * FIELDS_PER_PARENT


def authors_per_work_weights(
    head: int = HEAD_AUTHORS, tail_permille: int = TAIL_PERMILLE
) -> dict[int, float]:
    """Relative frequency of each author count: a table for 1-``head`` (at most 10; its
    weights are percentages), then a power-law tail from ``head + 1`` to ``MAX_AUTHORS`` with
    a total weight of ``tail_permille / 10``, so about ``tail_permille`` works per thousand.
    The defaults: a table for 1-10 and a tail with about 6% of works (about 2% have more than
    20 authors)."""
    if not 1 <= head <= HEAD_AUTHORS or tail_permille < 0:
        raise ValueError(f"head must be 1-{HEAD_AUTHORS} and tail_permille >= 0")
    table = {1: 7.0, 2: 14.0, 3: 18.0, 4: 17.0, 5: 13.0, 6: 9.0, 7: 6.0, 8: 4.0, 9: 3.0, 10: 2.5}
    weights = {k: w for k, w in table.items() if k <= head}
    if tail_permille == 0:
        return weights
    tail = {k: k**-2.3 for k in range(head + 1, MAX_AUTHORS + 1)}
    total = sum(tail.values())
    share = tail_permille / 10
    weights.update({k: share * w / total for k, w in tail.items()})
    return weights


def orcid_for(number: int) -> str:
    """A well-formed ORCID iD (ISO 7064 11,2 check digit), unique per ``number``."""
    return orcid_from_digits(f"00000002{number:07d}")


GRAPH_HEAD_AUTHORS = 6
GRAPH_TAIL_PERMILLE = 1
"""The co-author graph benchmark's distribution: mostly 1-6 authors (mean 3.55), about one work
in a thousand with 7-60; about 4.8 distinct co-author pairs per work (9.57M pairs, mean degree
19.1, at 1M researchers / 2M works)."""


@dataclass(frozen=True, slots=True)
class GraphSize:
    researchers: int
    works: int
    seed: int = 42
    head_authors: int = HEAD_AUTHORS
    """See ``authors_per_work_weights``."""
    tail_permille: int = TAIL_PERMILLE

    @property
    def shape(self) -> str:
        """``""`` for the default authors-per-work distribution, else ``h<head>_t<tail>``."""
        if (self.head_authors, self.tail_permille) == (HEAD_AUTHORS, TAIL_PERMILLE):
            return ""
        return f"h{self.head_authors}_t{self.tail_permille}"

    @property
    def database(self) -> str:
        name = f"bzpeer_bench_{self.researchers}_{self.works}"
        return f"{name}_{self.shape}" if self.shape else name

    @property
    def institutions(self) -> int:
        return max(10, self.researchers // 50)

    @property
    def venues(self) -> int:
        return max(5, self.works // 200)

    @property
    def topics(self) -> int:
        """Leaf topics: at least one per subfield."""
        return max(SUBFIELDS, self.works // 100)

    @property
    def accounts(self) -> int:
        return max(10, self.researchers // 10)

    @property
    def claims(self) -> int:
        return max(2, self.researchers // 50)


def graph_bench_size(researchers: int, works: int, seed: int = 42) -> GraphSize:
    """The size, with the thinner authors-per-work distribution, of the co-author graph
    benchmark's database."""
    return GraphSize(
        researchers,
        works,
        seed,
        head_authors=GRAPH_HEAD_AUTHORS,
        tail_permille=GRAPH_TAIL_PERMILLE,
    )


@dataclass(slots=True)
class Community:
    first: int
    """Id of the first member; members are ``first .. first + len(cum_weights) - 1``."""
    cum_weights: list[float]
    topics: list[int]
    institutions: list[int]
    venues: list[int]

    def pick(self, rng: random.Random) -> int:
        index = bisect.bisect_left(self.cum_weights, rng.random() * self.cum_weights[-1])
        return self.first + min(index, len(self.cum_weights) - 1)


@dataclass(slots=True)
class WorkBatch:
    works: list[Row] = field(default_factory=list)
    authorships: list[Row] = field(default_factory=list)
    authorship_institutions: list[Row] = field(default_factory=list)
    work_topics: list[Row] = field(default_factory=list)


class GraphGenerator:
    """Rows for every source table. Call the methods in the order of ``TABLE_ORDER``: later
    tables depend on choices made for earlier ones (communities, affiliations, works per
    researcher)."""

    def __init__(self, size: GraphSize) -> None:
        self.size = size
        self.rng = random.Random(size.seed)
        self.sentences = [self._sentence() for _ in range(4_000)]
        self.names: list[str] = []
        self.affiliation: list[int | None] = []
        self.orcids: list[str | None] = []
        self.productivity: list[float] = []
        self.works_per_researcher: list[int] = []
        self.communities: list[Community] = []
        self.topic_ids_by_subfield: list[list[int]] = []

    # -- vocabulary -------------------------------------------------------------------------

    def _sentence(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(12, 25))
        return " ".join(words).capitalize() + "."

    def _title(self) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(6, 14))).capitalize()

    def _name(self) -> str:
        given = self.rng.choice(GIVEN_NAMES)
        family = self.rng.choice(FAMILY_NAMES)
        if self.rng.random() < 0.15:
            return f"{given} {chr(65 + self.rng.randrange(26))}. {family}"
        return f"{given} {family}"

    # -- reference tables -------------------------------------------------------------------

    def institutions(self) -> list[Row]:
        rows = []
        for i in range(1, self.size.institutions + 1):
            place = self.rng.choice(FAMILY_NAMES)
            rows.append(
                (
                    i,
                    f"I{100_000_000 + i}",
                    f"https://ror.org/0{i:07d}x",
                    f"University of {place} {i}",
                    self.rng.choice(COUNTRIES),
                    self.rng.choice(INSTITUTION_TYPES),
                    f"https://inst{i}.example.edu",
                )
            )
        return with_search_names(rows, 3)

    def institution_domains(self) -> list[Row]:
        return [(i, f"inst{i}.example.edu") for i in range(1, self.size.institutions + 1)]

    def venues(self) -> list[Row]:
        rows: list[Row] = [(ARXIV_VENUE_ID, "S4306400194", "arXiv", "REPOSITORY", None)]
        for i in range(2, self.size.venues + 1):
            topic = " ".join(self.rng.choices(WORDS, k=2)).title()
            if self.rng.random() < 0.75:
                rows.append(
                    (
                        i,
                        f"S{200_000_000 + i}",
                        f"Journal of {topic}",
                        "JOURNAL",
                        f"{1000 + i % 9000:04d}-{i % 10000:04d}",
                    )
                )
            else:
                rows.append(
                    (i, f"S{200_000_000 + i}", f"Proceedings of {topic}", "CONFERENCE", None)
                )
        return with_search_names(rows, 2)

    def topics(self) -> list[Row]:
        """Four domains, five fields each, five subfields each, then the topics spread over
        the subfields: OpenAlex's hierarchy in miniature."""
        rows: list[Row] = []
        next_id = itertools.count(1)
        subfields: list[int] = []
        for domain_name in DOMAIN_NAMES:
            domain = next(next_id)
            rows.append((domain, f"D{domain}", domain_name, "DOMAIN", None))
            for _ in range(FIELDS_PER_PARENT):
                field_id = next(next_id)
                rows.append((field_id, f"F{field_id}", self._topic_name(2), "FIELD", domain))
                for _ in range(FIELDS_PER_PARENT):
                    subfield = next(next_id)
                    rows.append(
                        (subfield, f"SF{subfield}", self._topic_name(2), "SUBFIELD", field_id)
                    )
                    subfields.append(subfield)
        self.topic_ids_by_subfield = [[] for _ in subfields]
        for n in range(self.size.topics):
            topic = next(next_id)
            slot = n % len(subfields)
            rows.append(
                (topic, f"T{10_000 + topic}", self._topic_name(3), "TOPIC", subfields[slot])
            )
            self.topic_ids_by_subfield[slot].append(topic)
        return with_search_names(rows, 2)

    def _topic_name(self, words: int) -> str:
        return " ".join(self.rng.choices(WORDS, k=words)).title()

    # -- researchers ------------------------------------------------------------------------

    def researchers(self) -> list[Row]:
        self._make_communities()
        rows = []
        for community in self.communities:
            for offset in range(len(community.cum_weights)):
                rows.append(self._researcher(community.first + offset, community))
        return rows

    def _make_communities(self) -> None:
        rng = self.rng
        count = self.size.researchers
        self.productivity = [
            min(PRODUCTIVITY_CAP, rng.paretovariate(PRODUCTIVITY_ALPHA)) for _ in range(count)
        ]
        self.works_per_researcher = [0] * (count + 1)
        first = 1
        while first <= count:
            members = max(5, min(400, int(rng.lognormvariate(3.6, 0.7))))
            members = min(members, count - first + 1)
            weights = self.productivity[first - 1 : first - 1 + members]
            home = rng.randrange(len(self.topic_ids_by_subfield))
            topics = rng.sample(
                self.topic_ids_by_subfield[home], min(6, len(self.topic_ids_by_subfield[home]))
            )
            topics += [rng.choice(rng.choice(self.topic_ids_by_subfield)) for _ in range(3)]
            self.communities.append(
                Community(
                    first=first,
                    cum_weights=list(itertools.accumulate(weights)),
                    topics=topics,
                    institutions=[
                        rng.randint(1, self.size.institutions) for _ in range(rng.randint(1, 3))
                    ],
                    venues=[
                        rng.randint(2, max(2, self.size.venues)) for _ in range(rng.randint(3, 8))
                    ],
                )
            )
            first += members

    def _researcher(self, researcher_id: int, community: Community) -> Row:
        rng = self.rng
        name = self._name()
        affiliation = (
            rng.choice(community.institutions) if rng.random() < AFFILIATED_SHARE else None
        )
        orcid = orcid_for(researcher_id) if rng.random() < 0.35 else None
        description = None
        if rng.random() < 0.25:
            first, second = self._topic_name(2).lower(), self._topic_name(2).lower()
            description = f"Works on {first} and {second}."
        self.names.append(name)
        self.affiliation.append(affiliation)
        self.orcids.append(orcid)
        openalex_id = f"A{5_000_000_000 + researcher_id}" if rng.random() < 0.95 else None
        return (
            researcher_id,
            name,
            fold_name(name),
            description,
            orcid,
            openalex_id,
            affiliation,
            rng.random() < 0.3,
        )

    # -- works ------------------------------------------------------------------------------

    def works(self, batch_size: int = 20_000) -> Iterator[WorkBatch]:
        """Works with their authorships, authorship institutions and topics, in batches."""
        k_weights = authors_per_work_weights(self.size.head_authors, self.size.tail_permille)
        author_counts = list(k_weights)
        author_cum = list(itertools.accumulate(k_weights.values()))
        community_cum = list(itertools.accumulate(c.cum_weights[-1] for c in self.communities))
        global_cum = list(itertools.accumulate(self.productivity))
        type_names = [name for name, _ in WORK_TYPES]
        type_cum = list(itertools.accumulate(w for _, w in WORK_TYPES))
        authorship_ids = itertools.count(1)
        batch = WorkBatch()
        for work_id in range(1, self.size.works + 1):
            community = self.rng.choices(self.communities, cum_weights=community_cum)[0]
            wanted = self.rng.choices(author_counts, cum_weights=author_cum)[0]
            authors = self._authors(community, wanted, global_cum)
            venue = self._venue(community)
            work_type = (
                "PREPRINT"
                if venue == ARXIV_VENUE_ID
                else self.rng.choices(type_names, cum_weights=type_cum)[0]
            )
            batch.works.append(self._work(work_id, work_type, venue))
            for position, researcher_id in enumerate(authors, start=1):
                authorship_id = next(authorship_ids)
                batch.authorships.append(
                    (authorship_id, work_id, researcher_id, position, self.names[researcher_id - 1])
                )
                self.works_per_researcher[researcher_id] += 1
                batch.authorship_institutions.extend(
                    (authorship_id, i)
                    for i in self._authorship_institutions(researcher_id, community)
                )
            batch.work_topics.extend(self._work_topics(work_id, community))
            if len(batch.works) >= batch_size:
                yield batch
                batch = WorkBatch()
        if batch.works:
            yield batch

    def _authors(self, community: Community, wanted: int, global_cum: Sequence[float]) -> list[int]:
        rng = self.rng
        authors: dict[int, None] = {}
        attempts = 0
        while len(authors) < wanted and attempts < wanted * 4:
            attempts += 1
            if rng.random() < OUTSIDE_AUTHOR_SHARE:
                index = bisect.bisect_left(global_cum, rng.random() * global_cum[-1])
                authors[min(index, len(global_cum) - 1) + 1] = None
            else:
                authors[community.pick(rng)] = None
        ordered = list(authors)
        rng.shuffle(ordered)
        return ordered

    def _venue(self, community: Community) -> int | None:
        roll = self.rng.random()
        if roll < 0.10:
            return ARXIV_VENUE_ID
        if roll < 0.20:
            return None
        return self.rng.choice(community.venues)

    def _work(self, work_id: int, work_type: str, venue: int | None) -> Row:
        rng = self.rng
        year: int | None = max(1970, 2025 - int(abs(rng.gauss(0, 8))))
        if rng.random() < 0.02:
            year = None
        published = None
        if year is not None and rng.random() < 0.7:
            published = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
        doi = f"10.{5000 + work_id % 4000}/bench.{work_id}" if rng.random() < 0.75 else None
        arxiv_id = None
        if work_type == "PREPRINT":
            arxiv_id = f"{(year or 2020) % 100:02d}{rng.randint(1, 12):02d}.{work_id:05d}"
        openalex_id = f"W{4_000_000_000 + work_id}" if rng.random() < 0.95 else None
        abstract = (
            " ".join(rng.choices(self.sentences, k=rng.randint(5, 10)))
            if rng.random() < 0.85
            else None
        )
        cited_by = min(20_000, int(rng.paretovariate(1.2)) - 1)
        return (
            work_id,
            openalex_id,
            doi,
            arxiv_id,
            self._title(),
            abstract,
            work_type,
            year,
            published,
            venue,
            cited_by,
        )

    def _authorship_institutions(self, researcher_id: int, community: Community) -> list[int]:
        affiliation = self.affiliation[researcher_id - 1]
        if affiliation is None or self.rng.random() >= AUTHORSHIP_INSTITUTION_SHARE:
            return []
        second = self.rng.choice(community.institutions)
        if self.rng.random() < 0.05 and second != affiliation:
            return [affiliation, second]
        return [affiliation]

    def _work_topics(self, work_id: int, community: Community) -> list[Row]:
        rng = self.rng
        count = rng.choices((1, 2, 3), weights=(35, 40, 25))[0]
        chosen: dict[int, None] = {}
        for _ in range(count):
            if rng.random() < 0.85:
                chosen[rng.choice(community.topics)] = None
            else:
                chosen[rng.choice(rng.choice(self.topic_ids_by_subfield))] = None
        score = 1.0
        rows = []
        for topic in chosen:
            rows.append((work_id, topic, round(score, 4)))
            score *= rng.uniform(0.5, 0.95)
        return rows

    # -- accounts, follows, claims ----------------------------------------------------------

    def accounts(self) -> list[Row]:
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        rows = []
        for i in range(1, self.size.accounts + 1):
            confirmed = i <= self.size.claims or self.rng.random() < 0.6
            rows.append((i, f"user{i}@example.org", f"User {i}", None, now if confirmed else None))
        return rows

    def follows(self) -> list[Row]:
        """Each account follows a few researchers (Pareto), chosen by popularity."""
        popularity = list(itertools.accumulate(p**1.5 for p in self.productivity))
        rows: list[Row] = []
        for account in range(1, self.size.accounts + 1):
            wanted = min(30, int(self.rng.paretovariate(1.5)))
            followed = set()
            for _ in range(wanted):
                index = bisect.bisect_left(popularity, self.rng.random() * popularity[-1])
                followed.add(min(index, len(popularity) - 1) + 1)
            rows.extend((account, researcher) for researcher in sorted(followed))
        return rows

    def claims(self) -> list[Row]:
        """Accounts 1..claims each claim one distinct researcher who has works: half verified
        (identity verified, L3), 40% pending (L2), 10% rejected."""
        with_works = [
            rid for rid in range(1, self.size.researchers + 1) if self.works_per_researcher[rid] > 0
        ]
        chosen = self.rng.sample(with_works, min(self.size.claims, len(with_works)))
        verified_at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        rows = []
        for account, researcher in enumerate(chosen, start=1):
            status = (
                "VERIFIED" if account % 10 < 5 else "PENDING" if account % 10 < 9 else "REJECTED"
            )
            orcid = self.orcids[researcher - 1]
            method, evidence = (
                ("ORCID", orcid) if orcid else ("INSTITUTIONAL_EMAIL", f"user{account}@example.org")
            )
            rows.append(
                (
                    account,
                    account,
                    researcher,
                    method,
                    status,
                    evidence,
                    verified_at if status == "VERIFIED" else None,
                )
            )
        return rows


def with_search_names(rows: list[Row], name_at: int) -> list[Row]:
    """Each row with its display name (at ``name_at``) folded for search, as a last column."""
    return [(*row, fold_name(row[name_at])) for row in rows]


COLUMNS: dict[str, tuple[str, ...]] = {
    "institutions": (
        "id",
        "openalex_id",
        "ror_id",
        "display_name",
        "country_code",
        "type",
        "homepage_url",
        "search_name",
    ),
    "institution_domains": ("institution_id", "domain"),
    "venues": ("id", "openalex_id", "display_name", "type", "issn_l", "search_name"),
    "topics": ("id", "openalex_id", "display_name", "level", "parent_id", "search_name"),
    "researchers": (
        "id",
        "display_name",
        "search_name",
        "description",
        "orcid",
        "openalex_id",
        "affiliation_id",
        "open_to_collaborate",
    ),
    "works": (
        "id",
        "openalex_id",
        "doi",
        "arxiv_id",
        "title",
        "abstract",
        "type",
        "publication_year",
        "publication_date",
        "venue_id",
        "cited_by_count",
    ),
    "authorships": ("id", "work_id", "researcher_id", "position", "raw_author_name"),
    "authorship_institutions": ("authorship_id", "institution_id"),
    "work_topics": ("work_id", "topic_id", "score"),
    "accounts": ("id", "email", "display_name", "password_hash", "email_confirmed_at"),
    "follows": ("account_id", "researcher_id"),
    "claims": ("id", "account_id", "researcher_id", "method", "status", "evidence", "verified_at"),
}
"""The columns each generator method fills, in its tuple order."""

SERIAL_TABLES = (
    "institutions",
    "venues",
    "topics",
    "researchers",
    "works",
    "authorships",
    "accounts",
    "claims",
)
"""Tables whose ids the generator assigns: their sequences are moved past the last id."""
