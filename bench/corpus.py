"""A seeded generator of realistic multilingual monitoring material: articles, article pages and feeds.

Shared by the ingest benchmark; the same seed always gives the same corpus.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

VOCABULARY = {
    "en": ("the ministry used an algorithm to score benefit claimants for fraud risk and caseworkers "
           "investigated people flagged by the automated system while lawyers said the model discriminated "
           "against single parents and the government promised an audit of the data the agency collected "
           "about welfare recipients schools hospitals triage exam grading students patients appeal "
           "transparency privacy"),
    "fr": ("la caisse a utilisé un algorithme pour attribuer un score de risque aux allocataires et les "
           "contrôles ont visé les familles signalées par le système automatisé tandis que les associations "
           "dénoncent une discrimination et demandent la transparence sur les données des allocations "
           "hôpital école élèves"),
    "es": ("el ministerio utilizó un algoritmo para asignar una puntuación de riesgo a los solicitantes de "
           "ayudas y los inspectores revisaron a las personas señaladas por el sistema automatizado mientras "
           "los abogados denunciaron discriminación y falta de transparencia en los datos sociales salud "
           "educación"),
    "de": ("das amt nutzte einen algorithmus um antragsteller nach betrugsrisiko zu bewerten und "
           "sachbearbeiter prüften die markierten personen während anwälte von diskriminierung sprachen und "
           "die regierung eine prüfung der daten des automatisierten systems zusagte schulen krankenhäuser "
           "sozialleistungen"),
    "nl": ("de dienst gebruikte een algoritme om aanvragers een risicoprofiel te geven en controleurs "
           "onderzochten de gemarkeerde studenten terwijl advocaten spraken van discriminatie en de minister "
           "een onderzoek naar de gegevens van het geautomatiseerde systeem beloofde toeslagen uitkering "
           "fraude zorg"),
}
TITLES = {
    "en": ["Welfare fraud algorithm under scrutiny", "Exam grading model challenged",
           "Hospital triage tool audited"],
    "fr": ["L'algorithme des allocations contesté", "Le score de risque de la CAF en question"],
    "es": ["El algoritmo de ayudas sociales, en entredicho", "La puntuación de riesgo bajo examen"],
    "de": ["Algorithmus im Jobcenter in der Kritik", "Risikobewertung bei Sozialleistungen geprüft"],
    "nl": ["Risicoprofiel van DUO onder vuur", "Algoritme bij toeslagen onderzocht"],
}
BOILERPLATE = "".join(
    f'<li><a href="/section/{n}">Section {n}</a> '
    f'<span class="teaser">Read more about topic {n} in our archive.'
    "</span></li>" for n in range(120)
)


@dataclass(frozen=True)
class Article:
    slug: str
    language: str
    title: str
    summary: str
    body: list[str]
    published: datetime


def make_articles(count: int, seed: int = 7) -> list[Article]:
    """`count` articles of 300 to 600 words in five languages, dated over the last year."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, tzinfo=UTC)
    articles = []
    for n in range(count):
        language = rng.choice(list(VOCABULARY))
        words = VOCABULARY[language].split()
        paragraphs = []
        for _ in range(rng.randint(5, 9)):
            sentence_words = [rng.choice(words) for _ in range(rng.randint(45, 70))]
            paragraphs.append(" ".join(sentence_words).capitalize() + ".")
        title = f"{rng.choice(TITLES[language])} ({n})"
        articles.append(Article(
            slug=f"a{n}", language=language, title=title, summary=paragraphs[0][:240], body=paragraphs,
            published=start - timedelta(minutes=rng.randint(0, 60 * 24 * 365)),
        ))
    return articles


def article_page(article: Article) -> bytes:
    """A news-site page (about 40 KB): navigation, cookie banner, sidebars and footer around the article."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in article.body)
    return (
        f'<!doctype html><html lang="{article.language}"><head><meta charset="utf-8">'
        f"<title>{escape(article.title)} | Civic Ledger</title>"
        f'<meta name="author" content="Staff reporter"><meta property="og:site_name" content="Civic Ledger">'
        f'<meta property="article:published_time" content="{article.published.isoformat()}">'
        f'<style>body{{font-family:serif}} .nav li{{display:inline}}</style></head><body>'
        f'<div class="cookie">We use cookies to improve your experience. <button>Accept</button></div>'
        f'<header><nav class="nav"><ul>{BOILERPLATE[:6000]}</ul></nav></header>'
        f'<main><article><h1>{escape(article.title)}</h1><p class="byline">By Staff reporter</p>{paragraphs}'
        f'</article><aside><h2>Most read</h2><ul>{BOILERPLATE[:9000]}</ul></aside></main>'
        f"<footer><ul>{BOILERPLATE}</ul><p>Copyright Civic Ledger</p></footer></body></html>"
    ).encode()


def rss_feed(title: str, base_url: str, articles: list[Article]) -> bytes:
    """An RSS 2.0 feed linking each article's page under `base_url`."""
    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{base_url}{a.slug}.html</link>"
        f"<guid>{base_url}{a.slug}.html</guid><description>{escape(a.summary)}</description>"
        f"<pubDate>{format_datetime(a.published)}</pubDate></item>"
        for a in articles
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}'
            f"</title><link>{base_url}</link>{items}</channel></rss>").encode()
