"""Turn a fetched entry into an item draft: extract, detect the language, tag. CPU-bound and pure.

Runs in worker processes (so both cores work); everything it takes and returns is picklable.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from ingest.pages import extract_article
from kb.items import ItemDraft
from kb.text.language import detect_language
from kb.text.tagging import Tagger, tagger_of
from kb.text.taxonomy import (
    BUNDLED,
    Taxonomy,
    dump_taxonomy,
    installed_digest,
    load_taxonomy,
    parse_taxonomy,
)

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawEntry:
    """An entry as the source delivered it, with the article page's bytes when one was fetched."""

    url: str
    title: str
    summary: str = ""
    guid: str = ""
    published: datetime | None = None
    author: str = ""
    site_name: str = ""
    declared_language: str | None = None
    page_body: bytes | None = None
    page_headers: dict[str, str] = field(default_factory=dict)


def _tagger() -> Tagger:
    """The tagger of the taxonomy this process uses (the writer re-tags a draft tagged with another)."""
    return tagger_of(load_taxonomy())


def warm_up() -> None:
    """Load the taxonomy and the language profiles once per worker process."""
    _tagger()
    detect_language("warm up", "This sentence only loads the language profiles before real work arrives.")


StageSeconds = defaultdict[str, float]  # seconds spent per stage (fetch, parse, extract, detect, tag, ...)


def stage_seconds() -> StageSeconds:
    return defaultdict(float)


def add_seconds(total: StageSeconds, more: Mapping[str, float]) -> None:
    """Add the seconds of `more` to `total`, stage by stage."""
    for stage, seconds in more.items():
        total[stage] += seconds


def prepare(raw: RawEntry, timings: StageSeconds | None = None,
            taxonomy: tuple[str, Taxonomy] | None = None) -> ItemDraft:
    """Extract the article (falling back to the feed's summary), detect its language and tag it.

    Seconds spent per stage (extract, detect, tag) are added to `timings` when given.
    """
    clock = timings if timings is not None else stage_seconds()
    title, text, author, published = raw.title, raw.summary, raw.author, raw.published
    site_name, declared, summary = raw.site_name, raw.declared_language, raw.summary
    started = time.perf_counter()
    if raw.page_body:
        article = None
        try:
            article = extract_article(raw.page_body, raw.page_headers, raw.url)
        except Exception:  # noqa: BLE001 - a page trafilatura chokes on falls back to the summary
            LOGGER.warning("extraction failed for %s; keeping the feed's summary", raw.url, exc_info=True)
        if article is not None:
            title = title or article.title
            text = article.text
            author = author or article.author
            published = published or article.published
            site_name = site_name or article.site_name
            declared = declared or article.language
            summary = summary or article.description
    detected = time.perf_counter()
    language, probability = detect_language(title, text, declared)
    tagged = time.perf_counter()
    if taxonomy is None:
        digest = installed_digest()  # read before the taxonomy: a swap in between re-tags, never mislabels
        tagger = _tagger()
    else:
        digest, tagger = taxonomy[0], tagger_of(taxonomy[1])
    tags = tagger.tag(title, text, language)
    clock["extract"] += detected - started
    clock["detect"] += tagged - detected
    clock["tag"] += time.perf_counter() - tagged
    return ItemDraft(
        url=raw.url, title=title, text=text, summary=summary, author=author, site_name=site_name,
        published=published, language=language, language_prob=probability, topics=tags.topics,
        relevant=tags.relevant, relevance_score=tags.relevance_score, relevance_verdict=tags.verdict,
        relevance_reason=tags.reason, guid=raw.guid, taxonomy=digest,
    )


# The taxonomy a process of the CPU pool is to tag with: its digest and text (None: the bundled file).
TaxonomyText = tuple[str, str] | None


@lru_cache(maxsize=2)
def _text_of(digest: str) -> str:
    return dump_taxonomy(load_taxonomy())


def taxonomy_text() -> TaxonomyText:
    """What this process tags with, to hand to the CPU pool's processes (which cannot read the database)."""
    digest = installed_digest()
    return None if digest == BUNDLED else (digest, _text_of(digest))


@lru_cache(maxsize=2)
def _parsed(digest: str, text: str) -> Taxonomy:
    return parse_taxonomy(text, source=f"taxonomy {digest}")


def prepare_many(raws: list[RawEntry], taxonomy: TaxonomyText = None) -> tuple[list[ItemDraft], StageSeconds]:
    """prepare() over a chunk (fewer, larger messages between processes), with the seconds per stage, tagged
    with `taxonomy` (the caller's, see taxonomy_text; None: the one this process uses)."""
    using = None
    if taxonomy is not None and taxonomy[0] != installed_digest():  # a process of the CPU pool
        using = taxonomy[0], _parsed(*taxonomy)
    timings = stage_seconds()
    return [prepare(raw, timings, using) for raw in raws], timings
