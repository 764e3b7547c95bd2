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


# --- Zipf-distributed vocabularies -----------------------------------------------------------------------
#
# make_articles() above draws uniformly from about 40 words per language: fine for timing extraction, but an
# index built from it has a few hundred distinct terms and every posting list as long as the corpus. Real
# news text follows Zipf's law: a hundred function words make up about half of the running words, and the
# rest spreads over tens of thousands of terms, most of them rare. NewsCorpus draws from such vocabularies
# (function words, everyday news words, the field's own terms, then a long tail of invented words built from
# each language's syllables, plus numbers), so index sizes, term counts and segment merges behave as they
# would on real material. Each article is a pure function of (seed, number): any process can build any
# range of the corpus without building the rest.

NEWS_LANGUAGES = {"en": 40, "fr": 15, "es": 12, "de": 10, "nl": 8, "pt": 6, "it": 5, "ar": 4}
FUNCTION_WORDS = {
    "en": "the of and to in a is that for on with as by was it be are this from at has have not but which or "
          "an they their its were been he she his her had who will would can more also after about than",
    "fr": "le la les de des du et en un une est que pour dans sur par au aux avec ce qui pas plus a été il "
          "elle ils ont sont mais ou son sa ses leur cette comme tout aussi entre selon depuis lors",
    "es": "el la los las de del y en un una es que por para con se su al como más pero sus fue ha lo le "
          "este esta son han entre desde también sobre según cuando donde muy sin hasta",
    "de": "der die das und in den von zu mit ist des sich auf für im dem nicht ein eine als auch es an "
          "nach wird werden hat haben sind war bei aus oder wie nur noch über vor durch einem einer",
    "nl": "de het een en van in is dat op te met voor zijn niet aan er om ook als bij door maar naar "
          "was werd wordt heeft hebben nog dan of over uit tot die deze wel al zo",
    "pt": "o a os as de do da e em um uma que para com por não mais se foi ao como mas dos das no na "
          "nos nas ele ela são tem foram pelo pela entre também sobre segundo quando",
    "it": "il la i le di del della e in un una che per con non più si è al come ma dei delle lo gli "
          "nel nella sono ha hanno anche tra dal dalla sul sulla stato essere questo",
    "ar": "في من على إلى أن عن مع هذا التي الذي كان قد لا ما هذه بين كما بعد أو ثم حتى عند كل هو هي",
}
NEWS_WORDS = {
    "en": "said year years people government minister week report city public new state local officials "
          "told according million percent country national first last two three month council court law "
          "policy department agency service services program plan budget office data system",
    "fr": "selon année ans personnes gouvernement ministre semaine rapport ville public nouvelle État local "
          "responsables déclaré millions pour cent pays national premier dernier deux trois mois conseil "
          "tribunal loi politique service programme plan budget données système",
    "es": "según año años personas gobierno ministro semana informe ciudad público nueva estado local "
          "responsables declaró millones por ciento país nacional primer último dos tres mes consejo "
          "tribunal ley política servicio programa plan presupuesto datos sistema",
    "de": "sagte Jahr Jahren Menschen Regierung Minister Woche Bericht Stadt öffentlich neue Land lokal "
          "Verantwortliche erklärte Millionen Prozent national erste letzte zwei drei Monat Rat Gericht "
          "Gesetz Politik Dienst Programm Plan Haushalt Daten System Behörde",
    "nl": "zei jaar jaren mensen regering minister week rapport stad openbaar nieuwe staat lokaal "
          "verantwoordelijken verklaarde miljoen procent land nationaal eerste laatste twee drie maand raad "
          "rechtbank wet beleid dienst programma plan begroting gegevens systeem gemeente",
    "pt": "segundo ano anos pessoas governo ministro semana relatório cidade público nova estado local "
          "responsáveis declarou milhões por cento país nacional primeiro último dois três mês conselho "
          "tribunal lei política serviço programa plano orçamento dados sistema",
    "it": "secondo anno anni persone governo ministro settimana rapporto città pubblico nuova stato locale "
          "responsabili dichiarato milioni per cento paese nazionale primo ultimo due tre mese consiglio "
          "tribunale legge politica servizio programma piano bilancio dati sistema",
    "ar": "قال عام سنوات الناس الحكومة وزير أسبوع تقرير المدينة العامة جديدة الدولة محلي المسؤولين مليون "
          "بالمئة البلاد الوطنية الأول الأخير شهر المجلس القانون السياسة الخدمة البرنامج الخطة الميزانية",
}
DOMAIN_WORDS = {
    "en": "algorithm algorithms automated decision welfare benefits fraud detection risk scoring school exam "
          "grading hospital health patients triage discrimination audit ruling transparency appeal "
          "surveillance profiling claimants caseworkers eligibility biometric identity predictive model "
          "accountability rights vendor contract privacy",
    "fr": "algorithme algorithmes automatisé décision aides sociales fraude détection risque notation école "
          "examen hôpital santé patients triage discrimination audit recours transparence surveillance "
          "profilage allocataires contrôles éligibilité biométrique identité prédictif modèle droits "
          "prestataire contrat allocations",
    "es": "algoritmo algoritmos automatizado decisión prestaciones ayudas fraude detección riesgo puntuación "
          "escuela examen hospital salud pacientes triaje discriminación auditoría recurso transparencia "
          "vigilancia perfilado solicitantes elegibilidad biométrica identidad predictivo modelo derechos "
          "proveedor contrato privacidad",
    "de": "Algorithmus Algorithmen automatisiert Entscheidung Sozialleistungen Betrug Erkennung Risiko "
          "Bewertung Schule Prüfung Krankenhaus Gesundheit Patienten Triage Diskriminierung Prüfbericht "
          "Urteil Transparenz Beschwerde Überwachung Profilerstellung Antragsteller Sachbearbeiter "
          "Anspruch biometrisch Identität Modell Rechte Anbieter Vertrag Datenschutz",
    "nl": "algoritme algoritmes geautomatiseerd besluit uitkeringen toeslagen fraude opsporing risico score "
          "school examen ziekenhuis gezondheid patiënten triage discriminatie audit uitspraak transparantie "
          "bezwaar toezicht profilering aanvragers risicoprofiel biometrisch identiteit voorspellend model "
          "rechten leverancier contract privacy",
    "pt": "algoritmo algoritmos automatizado decisão benefícios sociais fraude detecção risco pontuação "
          "escola exame hospital saúde pacientes triagem discriminação auditoria recurso transparência "
          "vigilância perfilamento requerentes elegibilidade biométrica identidade preditivo modelo direitos "
          "fornecedor contrato privacidade",
    "it": "algoritmo algoritmi automatizzato decisione prestazioni sociali frode rilevamento rischio "
          "punteggio scuola esame ospedale salute pazienti triage discriminazione verifica ricorso "
          "trasparenza sorveglianza profilazione richiedenti idoneità biometrica identità predittivo modello "
          "diritti fornitore contratto riservatezza",
    "ar": "خوارزمية الخوارزميات آلي قرار الإعانات الاجتماعية احتيال كشف مخاطر تقييم مدرسة امتحان مستشفى "
          "الصحة المرضى التمييز تدقيق حكم الشفافية طعن المراقبة التنميط المستفيدين الأهلية البيومترية "
          "الهوية تنبؤي نموذج الحقوق المورد عقد الخصوصية",
}
TAIL_SYLLABLES = {
    "en": "ba be bi bo ter ing ment tion con pro ver der ly er al ous ive ate ist ham ford ton wick",
    "fr": "la re de ment tion eur eux ais ier ette on ons oi ou an en in que ble gne lle",
    "es": "ca de la ción mente dad ero era ado ida ito ita os as en es que gra llo rra",
    "de": "ge ver be ung keit heit lich ig er en sch st ach ein aus ter zu berg dorf",
    "nl": "ge ver be ing heid lijk ig er en sch ij oe aa ee uit te re dam hoven",
    "pt": "ca de ção mente dade eiro eira ado ida inho os as em es que ão lho nha",
    "it": "ca de zione mente tà ero era ato ita ino os as in es che gli ello etti",
    "ar": "ال مح سا ري تا كو لي نا فع مت قد ور بو جم عب",
}
NEWS_TAIL_WORDS = 20_000  # invented rare words per language
NEWS_START = datetime(2026, 11, 20, tzinfo=UTC)


class NewsCorpus:
    """Articles in eight languages whose words follow Zipf's law over realistic vocabularies (see above).

    `article(number)` is deterministic for a given seed; articles of one corpus never repeat a title and
    URL slug (`n<number>`).
    """

    def __init__(self, seed: int = 2026, tail_words: int = NEWS_TAIL_WORDS) -> None:
        self.seed = seed
        self.vocab: dict[str, list[str]] = {}
        self.cumulative: dict[str, list[float]] = {}
        self.content_words: dict[str, list[str]] = {}
        rng = random.Random(seed)
        for lang in NEWS_LANGUAGES:
            function, news, domain = (FUNCTION_WORDS[lang].split(), NEWS_WORDS[lang].split(),
                                      DOMAIN_WORDS[lang].split())
            syllables = TAIL_SYLLABLES[lang].split()
            known = set(function + news + domain)
            tail: set[str] = set()
            while len(tail) < tail_words:
                word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
                if word not in known:
                    tail.add(word)
            tail_list = sorted(tail)
            rng.shuffle(tail_list)
            # Ranks: function words first, then news and domain words interleaved, then the tail.
            middle = ([w for pair in zip(news, domain, strict=False) for w in pair]
                      + news[len(domain):] + domain[len(news):])
            words = function + middle + tail_list
            total, cumulative = 0.0, []
            for rank in range(len(words)):
                total += 1.0 / (rank + 2.7)  # Zipf-Mandelbrot, exponent 1
                cumulative.append(total)
            self.vocab[lang], self.cumulative[lang] = words, cumulative
            self.content_words[lang] = middle + tail_list[:2000]

    def _words(self, rng: random.Random, lang: str, count: int) -> list[str]:
        words = rng.choices(self.vocab[lang], cum_weights=self.cumulative[lang], k=count)
        for i in range(count):
            if rng.random() < 0.015:  # figures: years, amounts, counts
                figures = (rng.randint(1990, 2026), rng.randint(2, 999), rng.randint(1_000, 99_999))
                words[i] = str(rng.choice(figures))
        return words

    def article(self, number: int, published: datetime | None = None) -> Article:
        """Article `number`: 250 to 700 words in paragraphs, a title of 5 to 10 words, a teaser of 1-2
        sentences."""
        rng = random.Random(self.seed * 1_000_003 + number)
        lang = rng.choices(list(NEWS_LANGUAGES), weights=list(NEWS_LANGUAGES.values()))[0]
        domain = DOMAIN_WORDS[lang].split()
        paragraphs: list[str] = []
        remaining = rng.randint(250, 700)
        while remaining > 0:
            sentences = []
            for _ in range(rng.randint(2, 5)):
                length = min(remaining, rng.randint(8, 30)) or 1
                words = self._words(rng, lang, length) + rng.sample(domain, 1 if rng.random() < 0.6 else 2)
                rng.shuffle(words)
                remaining -= len(words)
                sentences.append(" ".join(words).capitalize() + ".")
                if remaining <= 0:
                    break
            paragraphs.append(" ".join(sentences))
        title_words = rng.sample(domain, 2) + rng.sample(self.content_words[lang], rng.randint(3, 8))
        rng.shuffle(title_words)
        first = paragraphs[0].split(". ")
        summary = ". ".join(first[:2]).rstrip(".") + "."
        return Article(
            slug=f"n{number}", language=lang, title=" ".join(title_words).capitalize(),
            summary=summary[:400], body=paragraphs,
            published=published or NEWS_START - timedelta(minutes=rng.randint(0, 60 * 24 * 365)),
        )

    def articles(self, first: int, count: int) -> list[Article]:
        return [self.article(number) for number in range(first, first + count)]


def rss_feed_full(title: str, base_url: str, articles: list[Article], full_content: bool = False,
                  language: str | None = None) -> bytes:
    """An RSS 2.0 feed like rss_feed(), with each entry's description either its teaser or, with
    `full_content`, the whole article as HTML paragraphs (as many news and blog feeds publish them)."""
    def description(a: Article) -> str:
        return escape("".join(f"<p>{escape(p)}</p>" for p in a.body)) if full_content else escape(a.summary)

    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{base_url}{a.slug}.html</link>"
        f"<guid>{base_url}{a.slug}.html</guid><description>{description(a)}</description>"
        f"<pubDate>{format_datetime(a.published)}</pubDate></item>"
        for a in articles
    )
    lang = f"<language>{language}</language>" if language else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}'
            f"</title><link>{base_url}</link>{lang}{items}</channel></rss>").encode()


# --- real word frequencies (the wordfreq package) ----------------------------------------------------------
#
# NewsCorpus's long tail is invented. WordfreqCorpus draws the running words from the wordfreq package's
# frequency lists (its top WORDFREQ_WORDS words of each language, weighted by their real frequency), so
# posting-list lengths, term counts and stop-word shares are those of real text in each language. The field's
# own words (DOMAIN_WORDS, and the taxonomy's terms for every language, so concept, sector and country queries
# have hits and the tagger sets topics) are mixed in at a fixed share. wordfreq is a bench-only dependency
# (the `bench` extra), imported here lazily.

WORDFREQ_LANGUAGES = {"en": 30, "fr": 12, "es": 10, "de": 9, "nl": 7, "pt": 6, "it": 5, "ar": 5,
                      "sv": 4, "pl": 4, "tr": 4, "id": 4}
WORDFREQ_WORDS = 50_000


class WordfreqCorpus:
    """Articles in twelve languages with real word frequencies; the same interface as NewsCorpus
    (`article(number)` is a pure function of the seed and the number; slugs `w<number>`)."""

    def __init__(self, seed: int = 2026, words: int = WORDFREQ_WORDS) -> None:
        import wordfreq

        from kb.text.taxonomy import load_taxonomy

        self.seed = seed
        self.vocab: dict[str, list[str]] = {}
        self.cumulative: dict[str, list[float]] = {}
        self.domain: dict[str, list[str]] = {}
        self.terms: dict[str, list[tuple[str, str]]] = {}  # language -> (topic id, term)
        taxonomy = load_taxonomy()
        for lang in WORDFREQ_LANGUAGES:
            # Words only: wordfreq also lists clitics ("l", "d"), digits and punctuation tokens.
            listed = [w for w in wordfreq.top_n_list(lang, words) if w.isalpha() and len(w) > 1]
            total, cumulative = 0.0, []
            for word in listed:
                total += wordfreq.word_frequency(word, lang)
                cumulative.append(total)
            self.vocab[lang], self.cumulative[lang] = listed, cumulative
            terms = [(topic.id, term) for topic in taxonomy for term in topic.terms.get(lang, ())
                     if not term.isupper()]
            self.terms[lang] = terms
            domain = DOMAIN_WORDS[lang].split() if lang in DOMAIN_WORDS else []
            self.domain[lang] = domain + [term for _, term in terms if " " not in term]

    def words(self, rng: random.Random, lang: str, count: int) -> list[str]:
        return rng.choices(self.vocab[lang], cum_weights=self.cumulative[lang], k=count)

    def rank(self, lang: str, low: int, high: int, rng: random.Random) -> str:
        """A word whose frequency rank in `lang` lies in [low, high)."""
        return self.vocab[lang][rng.randrange(low, min(high, len(self.vocab[lang])))]

    def article(self, number: int, published: datetime | None = None) -> Article:
        """Article `number`: 150 to 700 words, about 4% of them the field's words, 0 to 3 taxonomy terms
        (sector, system, right, country) in the article's language; a title of 5 to 10 words."""
        rng = random.Random(self.seed * 1_000_003 + number)
        lang = rng.choices(list(WORDFREQ_LANGUAGES), weights=list(WORDFREQ_LANGUAGES.values()))[0]
        domain, terms = self.domain[lang], self.terms[lang]
        mentions = [term for _, term in rng.sample(terms, min(len(terms), rng.choice((0, 1, 1, 2, 2, 3))))]
        paragraphs: list[str] = []
        remaining = rng.randint(150, 700)
        while remaining > 0:
            sentences = []
            for _ in range(rng.randint(2, 5)):
                length = max(1, min(remaining, rng.randint(8, 28)))
                words = self.words(rng, lang, length)
                if rng.random() < 0.6:
                    words.append(rng.choice(domain))
                if mentions and rng.random() < 0.3:
                    words.insert(rng.randrange(len(words) + 1), mentions.pop())
                remaining -= len(words)
                sentences.append(" ".join(words).capitalize() + ".")
                if remaining <= 0:
                    break
            paragraphs.append(" ".join(sentences))
        if mentions:
            paragraphs[-1] += " " + " ".join(mentions).capitalize() + "."
        title_words = rng.sample(domain, 2) + [self.rank(lang, 100, 20_000, rng)
                                               for _ in range(rng.randint(3, 8))]
        rng.shuffle(title_words)
        first = paragraphs[0].split(". ")
        summary = ". ".join(first[:2]).rstrip(".") + "."
        return Article(
            slug=f"w{number}", language=lang, title=" ".join(title_words).capitalize(),
            summary=summary[:400], body=paragraphs,
            published=published or NEWS_START - timedelta(minutes=rng.randint(0, 60 * 24 * 365)),
        )

    def articles(self, first: int, count: int) -> list[Article]:
        return [self.article(number) for number in range(first, first + count)]
