"""Folding, tokenising and stemming: the shared text analysis of tagging and search."""

from __future__ import annotations

import threading

import pytest

from kb.text.normalize import STEM_LANGUAGES, fold, stem, stem_all, stem_language, tokenize


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Protección", "proteccion"),
        ("Höchstgericht", "hochstgericht"),
        ("Détection de la FRAUDE", "detection de la fraude"),
        ("Straße", "strasse"),
        ("Æsir Øresund Œuvre Łódź Đakovo", "aesir oresund oeuvre lodz dakovo"),
        ("São Paulo, Curaçao, Ñandú", "sao paulo, curacao, nandu"),
        ("İstanbul", "istanbul"),
        ("ﬁnancement Ｘ²", "financement x2"),
        ("plain ascii Text", "plain ascii text"),
        ("", ""),
    ],
)
def test_fold_lowercases_and_strips_accents(text: str, folded: str):
    assert fold(text) == folded


def test_fold_makes_accented_and_plain_spellings_equal():
    assert fold("protección") == fold("proteccion") == "proteccion"
    assert fold("Niederländisch") == fold("niederlandisch")


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("أحمد", "احمد"),  # alef with hamza above
        ("إسلام", "اسلام"),  # alef with hamza below
        ("آمال", "امال"),  # alef with madda
        ("ٱلله", "الله"),  # alef wasla
        ("مدرسة", "مدرسه"),  # ta marbuta
        ("مستشفى", "مستشفي"),  # alef maksura
        ("مَدْرَسَةٌ", "مدرسه"),  # tashkeel
        ("عـــربي", "عربي"),  # tatweel
        ("الخوارزميّات", "الخوارزميات"),  # shadda
        ("٢٠٢٤", "2024"),  # Arabic-Indic digits
    ],
)
def test_fold_normalises_arabic(text: str, folded: str):
    assert fold(text) == folded


def test_fold_keeps_marks_that_spell_other_scripts():
    assert fold("हिन्दी") == "हिन्दी"
    assert fold("한국어") == "한국어"


@pytest.mark.parametrize(("with_nukta", "without"), [
    ("फ़र्ज़ी", "फर्जी"),  # nukta as a separate mark
    ("\u095b\u093f\u0932\u093e", "जिला"),  # precomposed za (U+095B), as some keyboards write it
    ("ख़ारिज", "खारिज"),
])
def test_fold_drops_the_devanagari_nukta(with_nukta: str, without: str):
    # Hindi writers use it or not for the same word: a search or a term must find both spellings.
    assert fold(with_nukta) == fold(without) == without
    assert "\u093c" not in fold(with_nukta)


def test_tokenize_splits_on_punctuation_and_drops_single_letters():
    assert tokenize("L'algorithme sud-africain du DWP's AI-driven système, 5 x 2024!") == [
        "algorithme", "sud", "africain", "du", "dwp", "ai", "driven", "systeme", "5", "2024",
    ]


def test_tokenize_handles_arabic_underscores_and_other_scripts():
    assert tokenize("تستخدم الحكومةُ خوارزميةً") == ["تستخدم", "الحكومه", "خوارزميه"]
    assert tokenize("snake_case") == ["snake", "case"]
    assert tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert tokenize("") == []
    assert tokenize("!!! ... ---") == []


@pytest.mark.parametrize(
    ("language", "one", "other"),
    [
        ("en", "algorithm", "algorithms"),
        ("fr", "algorithme", "algorithmes"),
        ("fr", "automatisé", "automatisées"),
        ("fr", "détection", "detections"),
        ("es", "algoritmo", "algoritmos"),
        ("es", "discriminación", "discriminaciones"),
        ("de", "Algorithmus", "Algorithmen"),
        ("de", "Sozialleistung", "Sozialleistungen"),
        ("nl", "risicoprofiel", "risicoprofielen"),
        ("nl", "algoritme", "algoritmen"),
        ("nl", "algoritme", "algoritmes"),
        ("nl", "toeslag", "toeslagen"),
        ("pt", "decisão", "decisões"),
        ("pt", "discriminação", "discriminações"),
        ("pt", "algoritmo", "algoritmos"),
        ("it", "algoritmo", "algoritmi"),
        ("ar", "خوارزمية", "الخوارزميات"),
        ("ar", "حكومة", "الحكومة"),
        ("ar", "الخصوصية", "خصوصية"),
        ("ar", "مستشفى", "المستشفيات"),
    ],
)
def test_inflected_forms_share_a_stem(language: str, one: str, other: str):
    (first,) = tokenize(one)
    (second,) = tokenize(other)
    assert stem(first, language) == stem(second, language)


def test_overrides_keep_common_words_apart():
    assert stem("overheid", "nl") != stem("over", "nl")
    assert stem("gemeente", "nl") != stem("menen", "nl")
    assert stem("paris", "pt") != stem("para", "pt")
    assert stem("hospital", "en") == stem("hospitals", "en")
    assert stem("hospital", "en") not in {stem(word, "en") for word in ("hospitality", "hospitalities",
                                                                       "hospitable", "hospitably")}


def test_stem_language_codes():
    assert stem_language("en-GB") == "en"
    assert stem_language("PT_br") == "pt"
    assert stem_language("mo") == "ro"  # retired codes are read like everywhere else (normalize_language)
    assert stem_language("yue-Hant-HK") is None
    assert stem_language("xx") is None
    assert stem_language("") is None
    assert stem_language(None) is None
    assert {"en", "fr", "es", "de", "nl", "pt", "it", "ar"} <= STEM_LANGUAGES


def test_unknown_language_is_identity():
    assert stem("algorithmes", "und") == "algorithmes"
    assert stem("algorithmes", None) == "algorithmes"
    assert stem_all(["a1", "b2"], "zz") == ["a1", "b2"]


def test_region_codes_use_the_base_stemmer():
    assert stem("algorithms", "en-GB") == stem("algorithms", "en") == "algorithm"


def test_stemming_is_thread_safe():
    words = tokenize(
        "Les algorithmes de notation des allocataires utilisés par les caisses d'allocations familiales "
        "discriminent les personnes handicapées et les familles monoparentales selon les associations"
    ) * 50
    expected = [stem(word, "fr") for word in words]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                results.append(stem_all(words, "fr"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 160
    assert all(result == expected for result in results)
