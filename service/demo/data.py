"""The demo graph of the embedded default (DESIGN.md "Demo data").

The seed page's work is real: arXiv 2207.13955 and its seven authors in order (its checked
metadata is ``tests/data/openalex/arxiv-2207.13955-metadata.json``). The other works are
synthetic, marked so in their abstracts, and exist only so that the real pipeline (co-author
edges, Leiden, trust) has a graph to cluster: two groups of co-authors meet on the seed work.
Every number the profile page shows is computed from this graph, never written here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from service.works.models import VenueType, WorkType

SEED_RESEARCHER = "Kaiyue Lu"
DEMO_DOMAIN = "demo.bzpeer.test"
SYNTHETIC_ABSTRACT = (
    "Synthetic record shipped with the BZPEER embedded default so that the demo graph has "
    "structure; it is not a real publication."
)
SEED_ABSTRACT = (
    "Recently, numerous efficient Transformers have been proposed to reduce the quadratic "
    "computational complexity of standard Transformers caused by the Softmax attention. However, "
    "most of them simply swap Softmax with an efficient attention mechanism without considering "
    "the customized architectures specially for the efficient attention. In this paper, we argue "
    "that the handcrafted vanilla Transformer architectures for Softmax attention may not be "
    "suitable for efficient Transformers. To address this issue, we propose a new framework to "
    "find optimal architectures for efficient Transformers with the neural architecture search "
    "(NAS) technique. The proposed method is validated on popular machine translation and image "
    "classification tasks. We observe that the optimal architecture of the efficient Transformer "
    "has the reduced computation compared with that of the standard Transformer, but the general "
    "accuracy is less comparable. It indicates that the Softmax attention and efficient attention "
    "have their own distinctions but neither of them can simultaneously balance the accuracy and "
    "efficiency well. This motivates us to mix the two types of attention to reduce the "
    "performance imbalance. Besides the search spaces that commonly used in existing NAS "
    "Transformer approaches, we propose a new search space that allows the NAS algorithm to "
    "automatically search the attention variants along with architectures. Extensive experiments "
    "on WMT' 14 En-De and CIFAR-10 demonstrate that our searched architecture maintains "
    "comparable accuracy to the standard Transformer with notably improved computational "
    "efficiency."
)


@dataclass(frozen=True)
class DemoResearcher:
    name: str
    open_to_collaborate: bool = False
    affiliation: str | None = None


@dataclass(frozen=True)
class DemoWork:
    title: str
    authors: tuple[str, ...]
    year: int
    type: WorkType
    topics: tuple[str, ...]
    venue: str | None = None
    abstract: str = SYNTHETIC_ABSTRACT
    arxiv_id: str | None = None
    publication_date: dt.date | None = None
    institutions: dict[str, str] = field(default_factory=dict)
    """Author name -> institution name at the time of the work."""


DEMO_INSTITUTION = "BZPEER Demo University"
VENUES = {"arXiv": VenueType.REPOSITORY, "BZPEER Demo Proceedings": VenueType.CONFERENCE}

# Topic -> (subfield, field, domain), OpenAlex's hierarchy shape with demo names.
TOPICS = {
    "Efficient Transformer Architectures": (
        "Artificial Intelligence",
        "Computer Science",
        "Physical Sciences",
    ),
    "Linear Attention Mechanisms": (
        "Artificial Intelligence",
        "Computer Science",
        "Physical Sciences",
    ),
    "Video Representation Learning": (
        "Computer Vision and Pattern Recognition",
        "Computer Science",
        "Physical Sciences",
    ),
    "Speech and Audio Modeling": ("Signal Processing", "Computer Science", "Physical Sciences"),
}

RESEARCHERS = (
    DemoResearcher("Zexiang Liu"),
    DemoResearcher("Dong Li"),
    DemoResearcher(SEED_RESEARCHER, open_to_collaborate=True),
    DemoResearcher("Zhen Qin"),
    DemoResearcher("Weixuan Sun"),
    DemoResearcher("Jiacheng Xu"),
    DemoResearcher("Yiran Zhong"),
    DemoResearcher("Mei Tanaka", open_to_collaborate=True, affiliation=DEMO_INSTITUTION),
    DemoResearcher("Arjun Raghavan", affiliation=DEMO_INSTITUTION),
)

SEED_WORK = DemoWork(
    title="Neural Architecture Search on Efficient Transformers and Beyond",
    authors=(
        "Zexiang Liu",
        "Dong Li",
        "Kaiyue Lu",
        "Zhen Qin",
        "Weixuan Sun",
        "Jiacheng Xu",
        "Yiran Zhong",
    ),
    year=2022,
    publication_date=dt.date(2022, 7, 28),
    type=WorkType.PREPRINT,
    venue="arXiv",
    arxiv_id="2207.13955",
    abstract=SEED_ABSTRACT,
    topics=("Efficient Transformer Architectures",),
)

WORKS = (
    SEED_WORK,
    # Synthetic: a tight group around four of the seed work's authors.
    DemoWork(
        "Demo: kernelised attention under a fixed compute budget",
        ("Zexiang Liu", "Dong Li", "Zhen Qin", "Weixuan Sun"),
        2023,
        WorkType.ARTICLE,
        ("Linear Attention Mechanisms", "Efficient Transformer Architectures"),
        venue="BZPEER Demo Proceedings",
    ),
    DemoWork(
        "Demo: searching token mixers for linear-time video models",
        ("Zexiang Liu", "Dong Li", "Weixuan Sun"),
        2023,
        WorkType.ARTICLE,
        ("Video Representation Learning",),
        venue="BZPEER Demo Proceedings",
    ),
    DemoWork(
        "Demo: relative position schemes for linear attention",
        ("Zhen Qin", "Weixuan Sun", "Dong Li"),
        2024,
        WorkType.PREPRINT,
        ("Linear Attention Mechanisms",),
    ),
    DemoWork(
        "Demo: a benchmark of efficient attention on long documents",
        ("Zhen Qin", "Zexiang Liu"),
        2024,
        WorkType.ARTICLE,
        ("Efficient Transformer Architectures",),
        venue="BZPEER Demo Proceedings",
    ),
    # Synthetic: a second group around the other two authors of the seed work.
    DemoWork(
        "Demo: streaming speech recognition with gated state spaces",
        ("Jiacheng Xu", "Yiran Zhong", "Mei Tanaka", "Arjun Raghavan"),
        2023,
        WorkType.ARTICLE,
        ("Speech and Audio Modeling",),
        venue="BZPEER Demo Proceedings",
        institutions={"Mei Tanaka": DEMO_INSTITUTION, "Arjun Raghavan": DEMO_INSTITUTION},
    ),
    DemoWork(
        "Demo: audio-visual pretraining at low sample rates",
        ("Yiran Zhong", "Mei Tanaka", "Jiacheng Xu"),
        2024,
        WorkType.PREPRINT,
        ("Speech and Audio Modeling", "Video Representation Learning"),
        institutions={"Mei Tanaka": DEMO_INSTITUTION},
    ),
    DemoWork(
        "Demo: data curation for multilingual speech corpora",
        ("Mei Tanaka", "Arjun Raghavan", "Yiran Zhong"),
        2024,
        WorkType.DATASET,
        ("Speech and Audio Modeling",),
        institutions={"Mei Tanaka": DEMO_INSTITUTION, "Arjun Raghavan": DEMO_INSTITUTION},
    ),
)


def description_for(name: str) -> str:
    return f"{name} contributes to research discovery and scholarly infrastructure."
