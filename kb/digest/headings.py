"""The digest's own words (title, headings, links, footer, subject) in each interface language.

A recipient reads the digest in the language they chose for the interface (`kb.users.user_language`);
outside addresses and users who follow their browser get the lab's default, English. The digest has a
dozen fixed phrases, so they live in this table rather than in the web UI's gettext catalogues (which `kb`
cannot load through Flask). Item text, titles and summaries stay in their own language.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})


@dataclass(frozen=True)
class Headings:
    language: str
    title: str  # with {number} and {year}
    items: tuple[str, ...]  # "{n} items" in each plural form of the language (see `plural_form`)
    period: str  # with {start} and {end}
    by_sector: str
    by_language: str
    also: str
    original_article: str
    original: str  # the plain-text part's label of the original's address
    in_kb: str
    footer: str
    unsubscribe: str
    one_click: str
    other_sector: str
    other_topics: str

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RIGHT_TO_LEFT else "ltr"

    def count(self, n: int) -> str:
        """ "3 items" in the language, with its plural rules."""
        return self.items[plural_form(self.language, n)].format(n=n)


def plural_form(language: str, n: int) -> int:
    """The index of the plural form for n (CLDR's cardinal rules, as in the web UI's catalogues)."""
    if language == "ar":
        if n in (0, 1, 2):
            return n
        return 3 if 3 <= n % 100 <= 10 else 4 if 11 <= n % 100 <= 99 else 5
    if language == "fr":
        return 0 if n in (0, 1) else 1
    return 0 if n == 1 else 1


HEADINGS = {
    "en": Headings(
        "en", "Media monitoring digest, week {number} {year}", ("{n} item", "{n} items"), "{start} to {end}",
        "By sector:", "By language:", "Also:", "Original article", "Original:", "In the knowledge base",
        "You receive this digest of the lab's media monitoring as a subscriber.", "Unsubscribe",
        "(one click, no sign-in needed).", "Other", "Other topics"),
    "fr": Headings(
        "fr", "Lettre hebdomadaire de veille médiatique, semaine {number} {year}",
        ("{n} article", "{n} articles"), "du {start} au {end}",
        "Par secteur :", "Par langue :", "Aussi :", "Article d’origine", "Original :",
        "Dans la base de connaissances",
        "Vous recevez cette lettre de veille médiatique du labo en tant qu’abonné.", "Se désabonner",
        "(un clic, sans connexion).", "Autre", "Autres thèmes"),
    "es": Headings(
        "es", "Boletín semanal de seguimiento de medios, semana {number} {year}",
        ("{n} artículo", "{n} artículos"), "del {start} al {end}",
        "Por sector:", "Por idioma:", "También:", "Artículo original", "Original:",
        "En la base de conocimiento",
        "Recibe este boletín del seguimiento de medios del laboratorio como suscriptor.", "Darse de baja",
        "(un clic, sin iniciar sesión).", "Otro", "Otros temas"),
    "ar": Headings(
        "ar", "النشرة الأسبوعية للرصد الإعلامي، الأسبوع {number} {year}",
        ("{n} عنصر", "عنصر واحد", "عنصران", "{n} عناصر", "{n} عنصرًا", "{n} عنصر"), "من {start} إلى {end}",
        "حسب القطاع:", "حسب اللغة:", "أيضًا:", "المقال الأصلي", "الأصل:", "في قاعدة المعرفة",
        "تتلقى هذه النشرة من الرصد الإعلامي للمختبر بصفتك مشتركًا.", "إلغاء الاشتراك",
        "(بنقرة واحدة، دون تسجيل الدخول).", "أخرى", "مواضيع أخرى"),
}


def headings(language: str | None) -> Headings:
    """The digest's words in a language ("fr-CA" -> "fr"); English for "" or a language it does not speak."""
    code = (language or "").strip().lower().replace("_", "-").split("-", 1)[0]
    return HEADINGS.get(code, HEADINGS[DEFAULT_LANGUAGE])
