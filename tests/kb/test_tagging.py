"""Tagging real-looking articles in the taxonomy languages, and judging their relevance."""

from __future__ import annotations

import threading

import pytest

from kb.text.tagging import (
    MAX_EVIDENCE,
    NEEDS_READER,
    NOT_RELEVANT,
    RELEVANT,
    RELEVANT_FLOOR,
    Tagger,
    TagResult,
)
from kb.text.taxonomy import Taxonomy, load_taxonomy, parse_taxonomy


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_taxonomy())


def _topics(result: TagResult) -> dict[str, tuple[str, ...]]:
    return {match.topic: match.evidence for match in result.topics}


ARTICLES = {
    "en": (
        "Dutch welfare algorithm discriminated against claimants",
        "A court in The Hague ruled that the government's risk scoring system SyRI, used by municipalities "
        "to detect benefit fraud, violated privacy rights. The algorithms flagged poor neighbourhoods and "
        "people with dual nationality.",
        {"sector/welfare", "system/risk-scoring", "right/discrimination", "right/privacy", "country/nl"},
    ),
    "fr": (
        "Les algorithmes de la CAF ciblent les plus précaires",
        "La Caisse nationale des allocations familiales utilise un score de risque pour orienter ses "
        "contrôles. Selon des associations, cet algorithme de détection de la fraude est discriminatoire "
        "envers les allocataires handicapés et les familles monoparentales en France.",
        {"sector/welfare", "system/risk-scoring", "right/discrimination", "country/fr"},
    ),
    "es": (
        "Los algoritmos del Gobierno para conceder el bono social",
        "La aplicación BOSCO decide qué familias reciben el bono social eléctrico en España. La Fundación "
        "Civio pidió el código fuente del programa informático porque las ayudas se deniegan sin "
        "explicación, y el tribunal rechazó dar transparencia.",
        {"sector/welfare", "system/eligibility", "right/transparency", "right/due-process", "country/es"},
    ),
    "de": (
        "Jobcenter setzen Algorithmen zur Betrugserkennung ein",
        "In Deutschland prüfen Behörden Sozialleistungen zunehmend automatisiert. Kritiker warnen, dass die "
        "Algorithmen Menschen diskriminieren und der Datenschutz bei der Risikobewertung der "
        "Leistungsbezieher verletzt wird.",
        {"sector/welfare", "system/risk-scoring", "right/discrimination", "right/privacy", "country/de"},
    ),
    "nl": (
        "Gemeenten gebruiken risicoprofielen bij bijstand",
        "Nederlandse gemeenten zetten algoritmes in om fraude met uitkeringen op te sporen. Uit onderzoek "
        "blijkt dat de risicoprofielen discriminerend kunnen zijn voor mensen met een migratieachtergrond, "
        "waarschuwt de Autoriteit Persoonsgegevens.",
        {"sector/welfare", "system/risk-scoring", "right/discrimination", "right/privacy", "country/nl"},
    ),
    "pt": (
        "Algoritmos do INSS negam benefícios a milhares de brasileiros",
        "O INSS usa sistemas automatizados de detecção de fraudes para analisar pedidos de aposentadoria e "
        "da previdência social. Segundo a Defensoria Pública, os algoritmos negam benefícios sem revisão "
        "humana e falta transparência no Brasil.",
        {"sector/welfare", "system/risk-scoring", "right/exclusion", "right/due-process",
         "right/transparency", "country/br"},
    ),
    "ar": (
        "خوارزمية الدعم في الأردن تستبعد أسرا فقيرة",
        "تستخدم الحكومة الأردنية خوارزمية تعتمد على تقييم المخاطر لتحديد الأسر المستحقة للدعم النقدي ضمن "
        "برنامج يديره صندوق المعونة الوطنية. وتقول منظمات حقوقية إن الخوارزميات تؤدي إلى التمييز ضد الأسر "
        "الفقيرة وتفتقر إلى الشفافية.",
        {"sector/welfare", "system/risk-scoring", "right/discrimination", "right/transparency", "country/jo"},
    ),
    "it": (
        "Gli algoritmi dell'Inps e il reddito di cittadinanza",
        "L'Inps usa un algoritmo per individuare possibili frodi nel reddito di cittadinanza in Italia. Il "
        "Garante per la protezione dei dati personali chiede più trasparenza alla pubblica amministrazione.",
        {"sector/welfare", "right/privacy", "right/transparency", "country/it"},
    ),
}


@pytest.mark.parametrize("language", sorted(ARTICLES))
def test_articles_get_their_topics_with_evidence(tagger: Tagger, language: str):
    title, text, expected = ARTICLES[language]
    result = tagger.tag(title, text, language)
    topics = _topics(result)
    assert expected <= set(topics), f"missing {expected - set(topics)}; got {sorted(topics)}"
    assert all(evidence for evidence in topics.values())
    assert result.relevant
    assert RELEVANT_FLOOR <= result.relevance_score <= 1.0
    assert result.relevance_evidence


@pytest.mark.parametrize(
    ("language", "title", "text", "expected"),
    [
        ("en", "NHS hospitals trial AI triage tool",
         "Patients in England are assessed by a symptom checker before they see doctors.",
         {"sector/health", "system/triage", "country/gb"}),
        ("en", "Ofqual algorithm downgraded pupils' results",
         "The grading algorithm lowered the predicted grades of students at state schools in England.",
         {"sector/education", "system/exam-grading", "country/gb"}),
        ("es", "Reconocimiento facial en las escuelas",
         "Varios colegios de Madrid instalaron cámaras de reconocimiento facial para controlar la asistencia "
         "de los alumnos, y la agencia de protección de datos investiga la privacidad.",
         {"sector/education", "system/biometrics", "right/privacy", "country/es"}),
        ("de", "Jobcenter testet Chatbot mit generativer KI",
         "Die Bundesagentur für Arbeit setzt im Jobcenter einen KI-Chatbot ein, der Fragen zum Bürgergeld "
         "beantwortet.",
         {"sector/welfare", "system/chatbots", "country/de"}),
        ("nl", "Politie stopt met voorspellende algoritmen",
         "De politie gebruikt voorspellende algoritmen om inbraken te voorspellen; de gemeente Amsterdam wil "
         "meer transparantie over de risicomodellen.",
         {"system/predictive", "right/transparency", "country/nl"}),
        ("pt", "Exclusão digital no Cadastro Único",
         "Famílias sem acesso à internet ficam de fora dos programas sociais do governo; a exclusão digital "
         "atinge milhões de brasileiros.",
         {"sector/welfare", "system/eligibility", "right/exclusion", "country/br"}),
    ],
)
def test_each_facet_is_reachable(tagger: Tagger, language: str, title: str, text: str, expected: set[str]):
    result = tagger.tag(title, text, language)
    assert expected <= set(_topics(result)), sorted(_topics(result))
    assert result.relevant


@pytest.mark.parametrize(
    ("language", "text", "term"),
    [
        ("fr", "Les algorithmes des administrations", "algorithme"),
        ("es", "Los algoritmos del ministerio", "algoritmo"),
        ("pt", "Os algoritmos do governo tomam decisões automatizadas", "decisões automatizadas"),
        ("en", "Algorithms at the ministry", "algorithm"),
        ("it", "Gli algoritmi del ministero", "algoritmo"),
        ("ar", "والخوارزميات التي تستخدمها الحكومة", "خوارزمية"),
    ],
)
def test_plural_forms_match_singular_terms(tagger: Tagger, language: str, text: str, term: str):
    result = tagger.tag("", text, language)
    assert term in result.relevance_evidence
    assert result.relevant


def test_german_plural_of_algorithmus(tagger: Tagger):
    result = tagger.tag("", "Die Behörde setzt Algorithmen ein", "de")
    assert {"Algorithmus", "Algorithmen"} & set(result.relevance_evidence)
    assert tagger.tag("", "Der Algorithmus der Behörde", "de").relevant


def test_dutch_plural_risk_profiles(tagger: Tagger):
    result = tagger.tag("", "De gemeente gebruikte risicoprofielen", "nl")
    assert _topics(result)["system/risk-scoring"] == ("risicoprofiel",)


@pytest.mark.parametrize(
    "text",
    [
        "la detection de la fraude",
        "la détection de la fraude",
        "LA DÉTECTION DE LA FRAUDE",
        "détections de la fraude",
    ],
)
def test_accents_and_case_are_folded(tagger: Tagger, text: str):
    result = tagger.tag("", text, "fr")
    assert _topics(result)["system/risk-scoring"] == ("détection de la fraude",)


def test_english_terms_match_in_other_languages(tagger: Tagger):
    result = tagger.tag(
        "L'AI Act et les services publics",
        "Le gouvernement veut utiliser du machine learning dans les hôpitaux, selon le ministre.",
        "fr",
    )
    assert {"AI", "machine learning"} <= set(result.relevance_evidence)
    assert "sector/health" in _topics(result)
    assert result.relevant


def test_own_language_terms_are_preferred_as_evidence(tagger: Tagger):
    result = tagger.tag("", "Un algorithme décide", "fr")
    assert result.relevance_evidence == ("algorithme",)


def test_short_abbreviations_match_only_as_written(tagger: Tagger):
    assert "AI" in tagger.tag("", "An AI-driven system", "en").relevance_evidence
    assert "AI" in tagger.tag("", "Cheap AIs everywhere", "en").relevance_evidence
    assert "AI" not in tagger.tag("", "E aí, tudo bem? Vamos aí amanhã.", "pt").relevance_evidence
    assert "AI" not in tagger.tag("", "the ai of the ai", "en").relevance_evidence
    assert tagger.tag("", "FAIR MAIL RAIN", "en").relevance_evidence == ()
    assert "KI" in tagger.tag("", "Das KI-System entscheidet", "de").relevance_evidence
    assert "IA" in tagger.tag("", "L'IA décide", "fr").relevance_evidence
    assert "AI" not in tagger.tag("", "The AI2 institute and AI_LAB", "en").relevance_evidence
    # Japanese and Korean write an abbreviation against their own letters: still a word.
    assert "AI" in tagger.tag("", "市はAIシステムを導入し、申請を審査している。", "ja").relevance_evidence
    assert "AI" in tagger.tag("", "정부는 AI가 복지 수급자를 선별하도록 했다.", "ko").relevance_evidence
    assert _topics(tagger.tag("", "Benefits agency UWV uses it", "en"))["country/nl"] == ("UWV",)
    assert "country/us" in _topics(tagger.tag("", "Officials in the U.S. said", "en"))


OFF_TOPIC = {
    "football": ("en", "Late goal secures title for City",
                 "The striker scored twice in the second half as City beat United 3-1 on Sunday. The coach "
                 "praised the defence and the fans celebrated in the stadium until late."),
    "recipe": ("en", "Easy tomato soup",
               "Chop the onions and garlic, fry them in olive oil for five minutes, add the tomatoes and "
               "simmer for twenty minutes. Season with salt and pepper and serve with fresh bread; the "
               "health benefits of garlic are well known."),
    "weather": ("en", "Storm brings heavy rain this weekend",
                "A storm front will bring heavy rain and strong winds to the north on Saturday. Temperatures "
                "will drop to five degrees and snow is possible on higher ground, the weather model shows."),
    "football-fr": ("fr", "Le PSG s'impose au Parc des Princes",
                    "Les joueurs ont battu Lyon trois buts à un samedi soir. L'entraîneur a salué la défense "
                    "et les supporters ont célébré la victoire jusque tard dans la nuit."),
    "recipe-es": ("es", "Receta de tortilla de patatas",
                  "Pela las patatas, córtalas en láminas finas y fríelas en aceite de oliva a fuego lento. "
                  "Bate los huevos, mezcla todo y cuaja la tortilla por ambos lados. Dan ganas de repetir."),
    "weather-de": ("de", "Unwetter am Wochenende",
                   "Ein Sturmtief bringt am Samstag kräftigen Regen und Wind in den Norden. Die Temperaturen "
                   "sinken auf fünf Grad, in höheren Lagen ist Schnee möglich."),
    "football-nl": ("nl", "Ajax wint met 3-1",
                    "De spits scoorde twee keer in de tweede helft. De trainer was tevreden over de "
                    "verdediging en over de sfeer in het stadion."),
    "recipe-pt": ("pt", "Receita de bolo de cenoura",
                  "Bata as cenouras com os ovos e o óleo no liquidificador, misture com o açúcar e a farinha "
                  "e leve ao forno para assar por quarenta minutos. Aí é só servir."),
    "weather-ar": ("ar", "أمطار غزيرة متوقعة نهاية الأسبوع",
                   "تتوقع الأرصاد الجوية هطول أمطار غزيرة ورياح قوية يوم السبت، وتنخفض درجات الحرارة إلى خمس "
                   "درجات مع احتمال تساقط الثلوج على المرتفعات."),
    "football-it": ("it", "La Juventus vince il derby",
                    "La squadra ha segnato due gol nel secondo tempo. L'allenatore ha parlato di una "
                    "vittoria meritata davanti ai tifosi."),
}


@pytest.mark.parametrize("case", sorted(OFF_TOPIC))
def test_off_topic_articles_are_not_relevant(tagger: Tagger, case: str):
    language, title, text = OFF_TOPIC[case]
    result = tagger.tag(title, text, language)
    facets = {topic.split("/")[0] for topic in _topics(result)}
    assert not result.relevant
    assert result.relevance_score < RELEVANT_FLOOR
    assert not facets & {"system", "sector"}, _topics(result)


# Frequent words (and words that a stemmer could confuse with terms) that must never signal a system or a
# public service on their own: a guard for the coordinator's future terms.
COMMON_WORDS = {
    "en": "the of and to in is was for on that with as by at from they we you be are have had not but or "
          "this one all there what so up out if about who get make can like time just know take people year "
          "good some them see other than then now look only come over think also back after use two how work "
          "first well way new want because any give day most us model models data test tests score scored "
          "scoring goal coach fans season team forecast weather health healthy recipe minutes fresh state",
    "fr": "le la les de des du un une et en est au aux que qui dans pour par sur avec pas plus ne se ce il "
          "elle nous vous on son sa ses leur mais ou donc car comme tout bien très fait faire être avoir été "
          "dit peut deux an ans jour fois temps homme femme pays ville monde vie part place cas groupe grand "
          "petit nouveau premier autre même bon chose moment point maison nuit eau argent histoire travail "
          "mot idée question jeu équipe joueur but buts match supporters entraîneur victoire soir pluie "
          "neige vent météo cuisine recette sel huile pain sucre farine santé modèle données test paris pari "
          "parc",
    "es": "el la los las de del un una y en es al que por para con no se lo le su sus más pero como todo muy "
          "ya fue ser estar ha han hay dijo puede dos año años día vez tiempo hombre mujer país ciudad mundo "
          "vida parte lugar caso grupo gran nuevo otro mismo bueno cosa momento casa noche agua dinero "
          "historia trabajo palabra idea lado juego equipo jugador gol partido afición entrenador victoria "
          "lluvia nieve viento cocina receta sal aceite pan azúcar harina salud modelo datos prueba dan dar "
          "usa canas bajo",
    "de": "der die das den dem des ein eine und in ist war für auf mit als von zu im am an bei aus nach "
          "nicht auch sich es er sie wir ihr sein aber oder wie wenn dann noch nur so schon sehr hat haben "
          "wird werden kann muss gibt sagt zwei jahr tag mal zeit mann frau kind land stadt welt leben teil "
          "platz fall woche gruppe groß klein neu erste andere gut sache punkt haus nacht wasser geld "
          "geschichte arbeit wort frage seite spiel mannschaft spieler tor verein trainer sieg regen schnee "
          "wind wetter küche rezept salz brot zucker mehl gesundheit modell daten test pole pol",
    "nl": "de het een en van in is was voor op dat met als door bij uit naar niet ook zich er hij zij wij "
          "jij hun zijn haar maar of hoe dan nog alleen zo al zeer heeft hebben had wordt worden kan moet "
          "zal zegt twee jaar dag keer tijd man vrouw kind land stad wereld leven deel plaats geval week "
          "groep groot klein nieuw eerste andere goed ding moment punt huis nacht water geld verhaal werk "
          "woord vraag kant spel ploeg speler doel wedstrijd trainer seizoen regen sneeuw wind weer keuken "
          "recept zout brood suiker gezondheid model gegevens test over menen meent pool open openbaar geven",
    "pt": "o a os as de do da dos das um uma e em é ao que por para com não se lhe seu sua mais mas ou como "
          "todo muito já foi ser estar tem há disse pode dois ano dia vez tempo homem mulher país cidade "
          "mundo vida parte lugar caso grupo grande novo outro mesmo bom coisa momento casa noite água "
          "dinheiro história trabalho palavra ideia lado jogo equipe jogador gol partida torcedores técnico "
          "vitória chuva vento cozinha receita sal azeite pão açúcar farinha saúde modelo dados teste usa aí "
          "ama par pares servir serviço serve",
    "it": "il lo la gli le di del della un una e in è al che per con non si ci suo sua più ma come tutto "
          "molto già essere ha hanno detto può due anno giorno volta tempo uomo donna paese città mondo vita "
          "parte posto caso gruppo grande nuovo altro stesso buono cosa momento casa notte acqua soldi "
          "storia lavoro parola idea lato gioco squadra giocatore gol partita tifosi allenatore vittoria "
          "pioggia vento cucina ricetta sale olio pane zucchero farina salute modello dati prova san parla "
          "parlare care",
    "ar": "في من على إلى عن مع هذا هذه ذلك التي الذي كان كانت يكون قد لا لم لن ما هل كل بعض أو ثم حتى بعد "
          "قبل عند بين خلال حول أن إن كما لكن يوم اليوم سنة عام وقت رجل امرأة طفل بلد البلد مدينة عالم حياة "
          "جزء مكان حالة مجموعة كبير صغير جديد أول آخر جيد شيء بيت ليلة ماء مال قصة كلمة فكرة جانب لعبة فريق "
          "لاعب هدف مباراة نادي مدرب فوز مطر ثلج رياح طقس مطبخ وصفة ملح زيت خبز سكر صحة نموذج بيانات اختبار "
          "زار شرط شروط أهل خصوصا بخصوص عنصر جامع أمان أسباب",
}


@pytest.mark.parametrize("language", sorted(COMMON_WORDS))
def test_common_words_never_signal_a_system_or_a_public_service(tagger: Tagger, language: str):
    for word in COMMON_WORDS[language].split():
        result = tagger.tag("", word, language)
        facets = {topic.split("/")[0] for topic in _topics(result)}
        assert not facets & {"system", "sector"}, (word, _topics(result))
        assert not result.relevance_evidence, (word, result.relevance_evidence)


def test_system_or_public_signal_alone_is_not_relevant(tagger: Tagger):
    only_system = tagger.tag("New chatbot writes poems", "The chatbot uses machine learning.", "en")
    assert "system/chatbots" in _topics(only_system)
    assert not only_system.relevant
    assert 0 < only_system.relevance_score < RELEVANT_FLOOR
    only_public = tagger.tag("Ministry opens new schools", "The government will build hospitals.", "en")
    assert not only_public.relevant
    assert only_public.relevance_score < RELEVANT_FLOOR


def test_title_matches_weigh_more(tagger: Tagger):
    in_title = tagger.tag("Welfare algorithm", "The story of a family.", "en")
    in_text = tagger.tag("A story", "Welfare algorithm. The story of a family.", "en")
    assert in_title.relevant and in_text.relevant
    assert in_title.relevance_score > in_text.relevance_score


def test_more_evidence_scores_higher(tagger: Tagger):
    weak = tagger.tag("", "An algorithm at the ministry.", "en")
    strong = tagger.tag(*ARTICLES["en"][:2], "en")
    assert RELEVANT_FLOOR <= weak.relevance_score < strong.relevance_score <= 1.0


def test_evidence_is_deduplicated_and_bounded(tagger: Tagger):
    text = " ".join(
        ["welfare benefits, social security, social assistance, claimants, unemployment benefits, child "
         "benefit, housing benefit, disability benefits, food stamps, Universal Credit, jobseekers, welfare "
         "state, social services, social workers, pensions, algorithm, machine learning, AI, automated, "
         "government, ministry, agency, municipality"] * 3
    )
    result = tagger.tag("Welfare", text, "en")
    welfare = _topics(result)["sector/welfare"]
    assert len(welfare) == MAX_EVIDENCE
    assert len(set(welfare)) == len(welfare)
    assert len(result.relevance_evidence) <= MAX_EVIDENCE
    assert len(set(result.relevance_evidence)) == len(result.relevance_evidence)
    assert "algorithm" in result.relevance_evidence
    assert "welfare" in result.relevance_evidence


def test_topics_come_in_facet_order(tagger: Tagger):
    result = tagger.tag(*ARTICLES["nl"][:2], "nl")
    facets = [match.topic.split("/")[0] for match in result.topics]
    order = ["sector", "system", "right", "country"]
    assert facets == sorted(facets, key=order.index)


def test_language_codes_are_normalised(tagger: Tagger):
    title, text, _ = ARTICLES["en"]
    assert tagger.tag(title, text, "en-GB") == tagger.tag(title, text, "en")
    assert tagger.tag(title, text, "EN") == tagger.tag(title, text, "en")


@pytest.mark.parametrize("language", ["und", "", "xx", "sv"])
def test_unknown_or_uncovered_language_uses_every_language(tagger: Tagger, language: str):
    result = tagger.tag("", "La Caisse nationale des allocations familiales utilise un algorithme.", language)
    assert "country/fr" in _topics(result)
    assert result.relevant


def test_empty_input(tagger: Tagger):
    result = tagger.tag("", "", "en")
    assert result == TagResult(topics=(), relevant=False, relevance_score=0.0, relevance_evidence=())


def test_custom_taxonomy_with_shared_names():
    taxonomy = parse_taxonomy(
        '[[topic]]\nid = "system/welfare-apps"\nfacet = "system"\nlabel = "Welfare apps"\n'
        '[topic.terms]\nsv = ["välfärdsapp"]\nall = ["Trelleborg"]\n'
        '[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
        '[topic.terms]\nsv = ["socialbidrag"]\nen = ["welfare"]\n')
    tagger = Tagger(taxonomy)
    result = tagger.tag("", "Trelleborg införde en välfärdsappar för socialbidrag", "sv")
    assert set(_topics(result)) == {"system/welfare-apps", "sector/welfare"}
    assert result.relevant
    assert tagger.tag("", "Trelleborg automated welfare", "en").relevant


def test_hyphenated_one_letter_prefix_belongs_to_its_word():
    # "e-KTP" (the electronic ID card) must not match a plain "KTP", nor "e-Devlet" the word "devlet" (state).
    taxonomy = parse_taxonomy(
        '[[topic]]\nid = "system/biometrics"\nfacet = "system"\nlabel = "Biometrics"\n'
        '[topic.terms]\nid = ["e-KTP"]\ntr = ["e-Devlet"]\n')
    tagger = Tagger(taxonomy)
    assert tagger.tag("", "Penerima diminta membawa KTP dan surat undangan ke kantor pos.", "id").topics == ()
    assert tagger.tag("", "Devlet yardımı ocak ayında hesaplara yatırılacak.", "tr").topics == ()
    for text, language, term in [
        ("Data e-KTP warga bocor dari server dinas.", "id", "e-KTP"),
        ("Data E\u2011KTP warga bocor.", "id", "e-KTP"),
        ("Vatandaşlar e-Devlet üzerinden başvuruyor.", "tr", "e-Devlet"),
    ]:
        assert _topics(tagger.tag("", text, language)) == {"system/biometrics": (term,)}


AUTOMATION_TAXONOMY = (
    '[[topic]]\nid = "system/scoring"\nfacet = "system"\nlabel = "Scoring"\n'
    '[topic.terms]\nen = ["risk score"]\n'
    '[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
    '[topic.terms]\nen = ["housing benefit", "claimants"]\nfr = ["allocation logement", "allocataires"]\n'
    '[relevance.automation_terms]\nen = ["online portal", "software robot"]\n'
    '[relevance.automatic_terms]\nen = ["automatically", "automatic"]\n'
)


@pytest.mark.parametrize(
    ("text", "verdict", "reason"),
    [
        # Two distinct cues describe a system the way the press does without naming an algorithm.
        ("A software robot now decides housing benefit claims automatically.", RELEVANT,
         "1 welfare term, 2 automation cues"),
        # One cue is too little either way: a person reads it, it is not silently dropped.
        ("Housing benefit will rise automatically with inflation, the minister said today.", NEEDS_READER,
         "too little evidence of a system: 1 welfare term, 1 automation cue"),
        # The same cue twice is still one cue.
        ("Housing benefit rises automatically; claimants are paid automatically every month from May.",
         NEEDS_READER, "too little evidence of a system: 2 welfare terms, 1 automation cue"),
        # Two forms of one word are one cue, whatever the stemmer makes of them.
        ("Housing benefit renewal is now automatic: it is paid automatically each April.", NEEDS_READER,
         "too little evidence of a system: 1 welfare term, 1 automation cue"),
        # Cues without a public service: a system, but not one the lab follows.
        ("The bank's online portal now approves loans automatically for most of its customers.",
         NOT_RELEVANT, "2 automation cues, no public-service term"),
        # A cue does not thicken the evidence of the other side: one system term stays too little.
        ("The bank's new risk score is now computed automatically for each of its customers.", NEEDS_READER,
         "too little evidence: 1 system term, 1 automation cue"),
        # No cue: the verdict of the terms as before.
        ("Housing benefit claimants will wait longer for payments this winter, the council said.",
         NOT_RELEVANT, "2 welfare terms, no system term"),
    ],
)
def test_automation_cues_count_as_a_system_only_together(text: str, verdict: str, reason: str):
    taxonomy = parse_taxonomy(AUTOMATION_TAXONOMY)
    result = Tagger(taxonomy).tag("", text, "en")
    assert (result.verdict, result.reason) == (verdict, reason)
    assert result.relevant == (verdict == RELEVANT)
    cues = {"automatically", "automatic", "online portal", "software robot"}
    assert not cues & {term for terms in _topics(result).values() for term in terms}  # cues make no topic


@pytest.mark.parametrize(
    ("title", "text", "verdict", "reason"),
    [
        # A cue in the headline: the story is about that system.
        ("Online portal cuts housing benefit for 3,000 families", "The council blames a change in the rules.",
         RELEVANT, "1 welfare term, 1 automation cue"),
        # The same cue only in passing in the text: a person reads it.
        ("Housing benefit changes in April", "Claims can still be made through the online portal.",
         NEEDS_READER, "too little evidence of a system: 1 welfare term, 1 automation cue"),
        # Three times in the text weighs as much as once in the headline.
        ("Housing benefit changes in April", "The online portal decides the claims. The online portal also "
         "sends the letters, and the online portal cannot be appealed.",
         RELEVANT, "1 welfare term, 1 automation cue"),
        # "Automatically" in the headline says how, not what: a person reads it.
        ("Housing benefit to rise automatically in April", "Claimants need not apply, the council said.",
         NEEDS_READER, "too little evidence of a system: 2 welfare terms, 1 automation cue"),
        # A headline cue without a public service is still not the lab's subject.
        ("Online portal of the bank down for a day", "Customers could not pay their bills.",
         NOT_RELEVANT, "1 automation cue, no public-service term"),
    ],
)
def test_a_single_cue_counts_as_a_system_in_the_headline(title: str, text: str, verdict: str, reason: str):
    taxonomy = parse_taxonomy(AUTOMATION_TAXONOMY)
    result = Tagger(taxonomy).tag(title, text, "en")
    assert (result.verdict, result.reason) == (verdict, reason)
    assert result.relevant == (verdict == RELEVANT)


@pytest.mark.parametrize("terms", ['"automatically", "automatic"', '"automatic", "automatically"'])
def test_forms_of_one_word_match_whatever_order_they_are_listed_in(terms: str):
    # Both stem to "automat"; a text word must not be much shorter than the term ("overheid" is not
    # "over"), measured against the shortest form listed, not the first.
    taxonomy = parse_taxonomy(
        '[[topic]]\nid = "system/checks"\nfacet = "system"\nlabel = "Checks"\n'
        f'[topic.terms]\nen = [{terms}]\n'
        '[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
        '[topic.terms]\nen = ["housing benefit"]\n')
    tagger = Tagger(taxonomy)
    for text in ("An automatic check now stops housing benefit claims.",
                 "Housing benefit claims are now checked automatically."):
        result = tagger.tag("", text, "en")
        # Found with the English stemmer, not by the fallback to every language's terms as written.
        assert (result.topic_ids, result.reason) == (("sector/welfare", "system/checks"),
                                                     "1 welfare term, 1 system term"), (terms, text)


@pytest.mark.parametrize(
    ("language", "title", "text", "system"),
    [
        # English terms are loanwords in other languages' texts: found as written, with an ending.
        ("da", "Softwaren på gymnasiet", "Softwaren registrerer elevernes skærme under eksamen.", "software"),
        ("fr", "Les chatbots de la CAF", "La CAF répond aux allocataires avec des chatbots.", "chatbot"),
        # Not when the text's own word only shares the English term's stem: "automático" is not
        # "automated", "medici" is not "Medicare".
        ("es", "Un cajero automático en el hospital", "El hospital instala un cajero automático.", None),
        ("it", "Sciopero dei medici", "I medici degli ospedali pubblici scioperano.", None),
    ],
)
def test_english_terms_match_other_languages_as_written(language: str, title: str,
                                                          text: str, system: str | None):
    taxonomy = parse_taxonomy(
        '[[topic]]\nid = "system/software"\nfacet = "system"\nlabel = "Software"\n'
        '[topic.terms]\nen = ["software", "chatbot", "automated", "Medicare"]\n'
        '[[topic]]\nid = "sector/public"\nfacet = "sector"\nlabel = "Public services"\n'
        '[topic.terms]\nda = ["gymnasiet"]\nfr = ["allocataires"]\nes = ["hospital"]\nit = ["ospedali"]\n')
    result = Tagger(taxonomy).tag(title, text, language)
    found = _topics(result).get("system/software")
    assert (found[0] if found else None) == system, (language, result.reason)
    assert result.relevant == (system is not None)


def test_an_english_term_with_an_abbreviation_needs_it_written_so():
    # "AI model" must not match the Italian "ai modelli" (to the forms), nor French "j'ai modelé".
    taxonomy = parse_taxonomy(
        '[[topic]]\nid = "system/models"\nfacet = "system"\nlabel = "Models"\n'
        '[topic.terms]\nen = ["AI model"]\n'
        '[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
        '[topic.terms]\nit = ["pensioni"]\nfr = ["allocations"]\n')
    tagger = Tagger(taxonomy)
    assert "system/models" not in tagger.tag("Pensioni, novità ai modelli di domanda",
                                             "L'Inps ha aggiornato i moduli delle pensioni.", "it").topic_ids
    for text, found in (("Pour les allocations, j'ai modelé ma demande.", False),
                        ("Les allocations sont calculées par un AI model.", True),
                        ("Les allocations sont calculées par des AI models.", True)):
        assert ("system/models" in tagger.tag("", text, "fr").topic_ids) == found, text


def test_words_saying_automatically_are_one_cue_together():
    # Two forms of "automatically" that share no long prefix (Japanese 自動的, 自動で) are still one cue.
    taxonomy = parse_taxonomy(
        '[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
        '[topic.terms]\nja = ["年金"]\n'
        '[relevance.automatic_terms]\nja = ["自動的", "自動で"]\n')
    result = Tagger(taxonomy).tag("年金が自動的に増額", "年金は自動で振り込まれる。", "ja")
    assert result.verdict == NEEDS_READER, result.reason


def test_a_taxonomy_written_before_automatic_terms_reads_them_from_its_automation_terms():
    # A lab's stored version or an exported file lists "automatically" among the automation_terms: the
    # bundled file's automatic terms move to their own list, so "Pensions rise automatically" stays a
    # reader's item rather than becoming relevant by its headline.
    taxonomy = parse_taxonomy(
        '[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
        '[topic.terms]\nen = ["pensions", "pensioners"]\n'
        '[relevance.automation_terms]\nen = ["automatically", "online portal"]\n')
    assert (dict(taxonomy.automation_terms), dict(taxonomy.automatic_terms)) == (
        {"en": ("online portal",)}, {"en": ("automatically",)})
    tagger = Tagger(taxonomy)
    assert tagger.tag("Pensions rise automatically in July", "All pensioners get the rise.",
                      "en").verdict == NEEDS_READER
    assert tagger.tag("Online portal stops pensions", "Pensioners lost their payments.", "en").relevant


def test_automation_cues_count_in_their_own_language_only():
    # Cues are common words; English ones are not searched in a French text (unlike English terms).
    taxonomy = parse_taxonomy(AUTOMATION_TAXONOMY)
    result = Tagger(taxonomy).tag(
        "", "L'allocation logement sera versée automatically aux allocataires par le online portal dès mai.",
        "fr")
    assert (result.verdict, result.reason) == (NOT_RELEVANT, "2 welfare terms, no system term")


def test_automation_cues_add_to_a_system_term():
    taxonomy = parse_taxonomy(AUTOMATION_TAXONOMY)
    tagger = Tagger(taxonomy)
    plain = tagger.tag("", "Housing benefit claimants get a risk score from the council.", "en")
    cued = tagger.tag("", "Housing benefit claimants get a risk score automatically from the council.", "en")
    assert plain.relevant and cued.relevant
    assert cued.relevance_score > plain.relevance_score
    assert "automatically" in cued.relevance_evidence
    assert cued.reason == "2 welfare terms, 1 system term, 1 automation cue"


COMPOUND_TAXONOMY = (
    '[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
    '[topic.terms]\nde = ["Sozialhilfe"]\nsv = ["socialbidrag"]\nen = ["welfare"]\nfi = ["sosiaaliturva"]\n'
    '[[topic]]\nid = "sector/education"\nfacet = "sector"\nlabel = "Education"\n'
    '[topic.terms]\nde = ["Schule", "Universität"]\nsv = ["universitet"]\nfi = ["yliopisto"]\n'
    '[[topic]]\nid = "sector/health"\nfacet = "sector"\nlabel = "Health"\n'
    '[topic.terms]\nde = ["Klinik"]\nsv = ["sjukhus"]\nen = ["hospital"]\nfi = ["sairaala"]\n'
    '[[topic]]\nid = "system/matching"\nfacet = "system"\nlabel = "Data matching"\n'
    '[topic.terms]\nde = ["Datenabgleich"]\n'
    '[[topic]]\nid = "country/gb"\nfacet = "country"\nlabel = "United Kingdom"\n'
    '[topic.terms]\nnl = ["Engeland"]\n'
)


@pytest.mark.parametrize(
    ("text", "language", "topics"),
    [
        # A term of the text's language begins a compound: the compound is about it.
        ("Der Kanton gleicht Sozialhilfedaten mit dem Steuerregister ab.", "de", {"sector/welfare"}),
        ("Kommunen granskar socialbidragstagare med en ny modell.", "sv", {"sector/welfare"}),
        # Its last part carries the meaning: a university hospital is a hospital, and the first part's
        # topic of the same facet is dropped; a topic of another facet stays.
        ("Das Universitätsklinikum führt ein neues Programm ein.", "de", {"sector/health"}),
        ("Universitetssjukhuset inför ett nytt program.", "sv", {"sector/health"}),
        ("Der Sozialhilfedatenabgleich wird ausgeweitet.", "de", {"sector/welfare", "system/matching"}),
        # A term's stem also ends a compound whose first part is no term ("Akut-sjukhus", emergency hospital).
        ("Akutsjukhuset i Lund inför ett nytt program.", "sv", {"sector/health"}),
        ("Die Bezirksklinik führt ein neues Programm ein.", "de", {"sector/health"}),
        # ... but only a stem that is how its word begins: Dutch "Engeland" stems to "enland".
        ("Zij reizen deze zomer naar het buitenland.", "nl", set()),
        # A short stem begins too many unrelated words: "schul" is not in "Schulden" (debts).
        ("Die Schulden der Stadt steigen weiter.", "de", set()),
        # Finnish is not matched this way: "yliopistollinen" (of a university) is a derived word.
        ("Tampereen yliopistollisen sairaalan päivystys ruuhkautui.", "fi", {"sector/health"}),
    ],
)
def test_compound_words_are_matched_by_their_parts(text: str, language: str, topics: set[str]):
    taxonomy = parse_taxonomy(COMPOUND_TAXONOMY)
    assert set(_topics(Tagger(taxonomy).tag("", text, language))) == topics


@pytest.mark.parametrize(("language", "text"), [
    # Words that begin like a term but are no compound of it ("politi" of "politiet", police, begins
    # "politik"; Swedish "kommun" begins "kommunikation"), and automation cues inside words.
    ("da", "Politikerne diskuterede politik og politiske aftaler hele dagen."),
    ("no", "Politikerne diskuterte politikk hele dagen."),
    ("de", "Ein Seminar über Kommunikation und Kommunismus im 20. Jahrhundert."),
    ("de", "Am Geldautomaten und an den Spielautomaten im Bahnhof standen Schlangen."),
    ("sv", "Transporten och kommunikationen fungerade bra under festivalen."),
    ("sv", "Systembolaget har öppet på lördag före midsommar."),
    ("nl", "Het universum is universeel, zegt de sterrenkundige."),
])
def test_words_that_only_begin_like_a_term_are_no_compounds(tagger: Tagger, language: str, text: str):
    result = tagger.tag("", text, language)
    assert (result.topics, result.relevance_evidence) == ((), ()), (result.topics, result.relevance_evidence)


def test_tagging_is_thread_safe(tagger: Tagger):
    inputs = [(title, text, language) for language, (title, text, _) in ARTICLES.items()]
    expected = [tagger.tag(*item) for item in inputs]
    failures: list[str] = []

    def work() -> None:
        for _ in range(10):
            for item, wanted in zip(inputs, expected, strict=True):
                if tagger.tag(*item) != wanted:
                    failures.append(item[2])

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures

def test_taxonomy_object_is_kept(tagger: Tagger):
    assert isinstance(tagger.taxonomy, Taxonomy)
