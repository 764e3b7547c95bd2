"""Language detection: langdetect weighed against the declared language, deterministic and never raising."""

from __future__ import annotations

import threading
import time

import pytest

from kb.text.language import DECLARED_PROBABILITY, MIN_CONFIDENCE, detect_language, normalize_language

PARAGRAPHS = {
    "en": "The government introduced an algorithm to decide which families receive housing benefits. Critics "
          "say the system is opaque and that people who are wrongly flagged have no way to appeal.",
    "fr": "Le gouvernement a introduit un algorithme pour décider quelles familles reçoivent les aides au "
          "logement. Les critiques estiment que le système est opaque et que les personnes signalées à tort "
          "ne peuvent pas faire appel.",
    "es": "El gobierno introdujo un algoritmo para decidir qué familias reciben las ayudas a la vivienda. "
          "Los críticos dicen que el sistema es opaco y que las personas señaladas por error no pueden "
          "recurrir.",
    "de": "Die Regierung hat einen Algorithmus eingeführt, der entscheidet, welche Familien Wohngeld "
          "erhalten. Kritiker sagen, das System sei undurchsichtig und fälschlich markierte Menschen könnten "
          "keinen Widerspruch einlegen.",
    "nl": "De regering heeft een algoritme ingevoerd dat bepaalt welke gezinnen huurtoeslag krijgen. Critici "
          "zeggen dat het systeem ondoorzichtig is en dat mensen die ten onrechte worden aangemerkt geen "
          "bezwaar kunnen maken.",
    "pt": "O governo introduziu um algoritmo para decidir quais famílias recebem o auxílio habitação. Os "
          "críticos dizem que o sistema é opaco e que as pessoas assinaladas por engano não podem recorrer.",
    "ar": "أدخلت الحكومة خوارزمية لتحديد الأسر التي تحصل على دعم السكن. ويقول المنتقدون إن النظام غامض وإن "
          "الأشخاص الذين يتم تصنيفهم خطأً لا يمكنهم الطعن في القرار.",
    "it": "Il governo ha introdotto un algoritmo per decidere quali famiglie ricevono il sussidio per la "
          "casa. I critici dicono che il sistema è opaco e che le persone segnalate per errore non possono "
          "fare ricorso.",
}
CHINESE = (
    "政府推出了一种算法来决定哪些家庭可以获得住房补贴。"
    "批评者说，这个系统不透明，被错误标记的人无法申诉。"
)
# langdetect hesitates on this Spanish/Portuguese mix: about 0.57 Portuguese, 0.43 Spanish.
MIXED = "el gobierno usa un algoritmo para decidir os auxílios sociais das famílias"


@pytest.mark.parametrize("language", sorted(PARAGRAPHS))
def test_paragraphs_are_recognised(language: str):
    code, probability = detect_language("", PARAGRAPHS[language])
    assert code == language
    assert probability >= 0.9


def test_title_counts_too():
    title = "Le gouvernement utilise un algorithme"
    text = "pour décider quelles familles reçoivent les aides au logement en France"
    assert detect_language(title, text)[0] == "fr"


def test_a_confident_detection_beats_a_wrong_declaration():
    assert detect_language("", PARAGRAPHS["de"], declared="en")[0] == "de"


def test_detection_is_deterministic():
    answers = {detect_language("", MIXED) for _ in range(20)}
    assert len(answers) == 1
    answers = {detect_language("Titre", PARAGRAPHS["fr"]) for _ in range(20)}
    assert len(answers) == 1
    assert next(iter(answers))[0] == "fr"


def test_low_confidence_prefers_the_declared_language():
    code, probability = detect_language("", MIXED)
    assert code == "pt" and probability < MIN_CONFIDENCE
    assert detect_language("", MIXED, declared="es-ES") == ("es", DECLARED_PROBABILITY)
    assert detect_language("", MIXED, declared="pt") == (code, probability)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [("en-GB", ("en", DECLARED_PROBABILITY)), ("FR", ("fr", DECLARED_PROBABILITY)),
     ("pt_BR", ("pt", DECLARED_PROBABILITY)), ("xx-YY", ("und", 0.0)), ("english", ("und", 0.0)),
     ("", ("und", 0.0)), (None, ("und", 0.0))],
)
def test_short_texts_use_the_declared_language(declared: str | None, expected: tuple[str, float]):
    assert detect_language("Algorithme et CAF", "un article court", declared) == expected


def test_empty_text_uses_the_declared_language():
    assert detect_language("", "", "nl") == ("nl", DECLARED_PROBABILITY)
    assert detect_language("", "") == ("und", 0.0)


@pytest.mark.parametrize(
    "text",
    ["", "1234 !!!", "   \n\t  ", "https://example.org/a/b?c=d mail@example.org",
     "\ud800\udfff broken surrogates", "😀" * 50, " ".join(str(n) for n in range(20)), "a " * 30],
)
def test_garbage_never_raises(text: str):
    code, probability = detect_language(text, text)
    assert isinstance(code, str) and 0.0 <= probability <= 1.0
    code, probability = detect_language(text, text, declared="de")
    assert isinstance(code, str) and 0.0 <= probability <= 1.0


def test_digits_and_punctuation_are_undetermined():
    assert detect_language("", "1234 !!! " * 20) == ("und", 0.0)
    assert detect_language("", "1234 !!! " * 20, "fr") == ("fr", DECLARED_PROBABILITY)


def test_non_text_arguments_do_not_raise():
    assert detect_language(None, None) == ("und", 0.0)  # type: ignore[arg-type]
    assert detect_language(b"bytes", 42, declared=7) == ("und", 0.0)  # type: ignore[arg-type]


def test_a_huge_text_is_truncated_and_fast():
    huge = (PARAGRAPHS["en"] + " ") * 30_000
    assert len(huge) > 5 * 1024 * 1024
    start = time.perf_counter()
    code, _ = detect_language("A title", huge)
    assert code == "en"
    assert time.perf_counter() - start < 2.0


def test_chinese_variants_map_to_zh():
    assert normalize_language("zh-cn") == "zh"
    assert normalize_language("zh-TW") == "zh"
    assert detect_language("", CHINESE)[0] == "zh"


@pytest.mark.parametrize(
    ("code", "normalised"),
    [("en", "en"), ("EN", "en"), ("en-GB", "en"), ("pt_BR", "pt"), (" fr ", "fr"), ("iw", "he"),
     ("xx", None), ("english", None), ("", None), (None, None), ("e", None)],
)
def test_normalize_language(code: str | None, normalised: str | None):
    assert normalize_language(code) == normalised


# Tags as feeds and pages declare them. A three-letter code ("yue") gives None like any code outside
# ISO 639-1: only such a code can pick a stemmer or a taxonomy language.
@pytest.mark.parametrize(
    ("tag", "expected"),
    [("en-us", "en"), ("en_US", "en"), ("FR", "fr"), ("de-DE-1996", "de"), ("yue-Hant-HK", None),
     ("und", None), ("mul", None), ("zxx", None), ("x-default", None), ("12", None), ("ру", None),
     ("en US", "en"), ("en-" + "x" * 100_000, "en"), ("  " + "e" * 100_000, None), (7, None)],
)
def test_normalize_language_tags_from_feeds_and_pages(tag: object, expected: str | None):
    assert normalize_language(tag) == expected  # type: ignore[arg-type]


def test_detection_is_thread_safe():
    expected = {language: detect_language("", text) for language, text in PARAGRAPHS.items()}
    failures: list[str] = []

    def work() -> None:
        for language, text in PARAGRAPHS.items():
            if detect_language("", text) != expected[language]:
                failures.append(language)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


SERBIAN = ("Министарство за рад, запошљавање, борачка и социјална питања увело је систем Социјална "
           "карта који аутоматски проверава податке о приходима. Хиљаде породица остало је без новчане "
           "социјалне помоћи, а грађани кажу да нико није објаснио зашто.")
SERBIAN_PLAIN = ("Влада Србије је усвојила нови закон о социјалној карти. Систем аутоматски проверава "
                 "податке о приходима и имовини свих корисника. Удружења траже да се примена закона "
                 "одложи док се не утврди тачност података.")
MACEDONIAN = ("Министерството за труд и социјална политика воведе нов систем за проверка на корисниците на "
              "социјална помош. Според граѓаните, многу семејства останаа без парична помош без објаснување. "
              "Здруженијата бараат системот да биде повлечен.")


def test_serbian_cyrillic_is_told_from_macedonian():
    # langdetect has no Serbian: without the rule these come out Macedonian.
    assert detect_language("", SERBIAN)[0] == "sr"
    assert detect_language("", SERBIAN, declared="sr")[0] == "sr"
    assert detect_language("", MACEDONIAN)[0] == "mk"
    assert detect_language("", MACEDONIAN, declared="sr")[0] == "mk"  # Macedonian letters: not Serbian
    # Without ђ or ћ a Serbian text reads as Macedonian unless the feed says Serbian.
    assert detect_language("", SERBIAN_PLAIN, declared="sr")[0] == "sr"


# The same kinds of story in the two standards, written for this test (langdetect calls all of them Croatian).
SERBIAN_LATIN = (
    "Uvođenjem Socijalne karte, hiljade porodica ostalo je bez novčane pomoći. Ministarstvo tvrdi da sistem "
    "samo povezuje podatke iz opština, ali udruženja kažu da rešenja stižu bez objašnjenja.",
    "Gradska bolnica u Nišu uvela je novi sistem zakazivanja pregleda. Pacijenti se žale da na termin kod "
    "lekara čekaju i po nekoliko nedelja, a predsednik sindikata kaže da je uslov za promenu veći broj "
    "zaposlenih.",
    "Učenici osmog razreda ove godine polažu završni ispit u junu. Ministarstvo prosvete objavilo je da će "
    "rezultati biti poznati za nedelju dana, a upis u srednje škole obavlja se elektronski.",
)
CROATIAN = (
    "Uvođenjem novog sustava, tisuće obitelji ostalo je bez zajamčene minimalne naknade. Ministarstvo tvrdi "
    "da sustav samo povezuje podatke iz općina, ali udruge kažu da rješenja stižu bez objašnjenja.",
    "Klinička bolnica u Splitu uvela je novi sustav naručivanja pregleda. Pacijenti se žale da na termin kod "
    "liječnika čekaju i po nekoliko tjedana, a predsjednik sindikata kaže da je uvjet za promjenu veći broj "
    "zaposlenih.",
    "Učenici osmih razreda ove godine pišu nacionalne ispite u lipnju. Ministarstvo znanosti i obrazovanja "
    "objavilo je da će rezultati biti poznati za tjedan dana, a upisi u srednje škole obavljaju se online.",
    # "također" and "vremena" begin like Serbian "takođe" and "vreme".
    "Vlada je također najavila da će zbog lošeg vremena škole biti zatvorene. Ravnatelji su također "
    "upozorili da vremenska prognoza za vikend nije dobra.",
)
# Neither standard's words: only the feed's declaration can say which it is.
NEUTRAL_LATIN = ("Pacijenti u bolnici čekaju na pregled satima. Sindikat medicinskih sestara traži više "
                 "zaposlenih i novu opremu, a uprava bolnice kaže da nema novca za nova zapošljavanja.")


@pytest.mark.parametrize("text", SERBIAN_LATIN)
def test_serbian_latin_is_told_from_croatian(text: str):
    assert detect_language("", text)[0] == "sr"
    assert detect_language("", text, declared="hr")[0] == "sr"  # the words outweigh a wrong declaration


@pytest.mark.parametrize("text", CROATIAN)
def test_croatian_stays_croatian(text: str):
    assert detect_language("", text)[0] == "hr"
    assert detect_language("", text, declared="sr")[0] == "hr"  # Croatian words: not Serbian


def test_a_declared_serbian_feed_decides_when_the_words_do_not():
    assert detect_language("", NEUTRAL_LATIN)[0] == "hr"
    assert detect_language("", NEUTRAL_LATIN, declared="sr")[0] == "sr"


def test_slovenian_is_not_taken_for_serbian():
    # Slovenian writes "mesec" and "vreme" as Serbian does; langdetect knows Slovenian.
    text = ("Vreme bo ta mesec spremenljivo, zato zdravstveni dom podaljšuje čakalne vrste za preglede. "
            "Ministrstvo za zdravje je sporočilo, da bo sistem naročanja prenovljen do konca leta.")
    assert detect_language("", text)[0] == "sl"
