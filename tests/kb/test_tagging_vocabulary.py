"""How the press writes about automated systems and public services, beyond "algorithm" and "welfare".

Items written for these tests (not the held-out sets): automated data matching and checks, statistical and
profiling models, pensions, the unemployed, child protection, national digital ID gates (eID logins, face
and identity checks, ID schemes) and automated administration (software robots, automatic decisions,
allocation and early-warning models, register matching) are found in many languages; words whose stem is a
common word of other subjects, ID cards, bank logins and face unlock outside public services, and industrial
robots, points tables and early warning of disasters are not.
"""

from __future__ import annotations

import pytest

from kb.text.tagging import NEEDS_READER, NOT_RELEVANT, RELEVANT, Tagger, TagResult
from kb.text.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_taxonomy())


def _assert_relevant(tagger: Tagger, title: str, text: str, language: str) -> TagResult:
    result = tagger.tag(title, text, language)
    assert result.verdict == RELEVANT, (language, result.reason, result.relevance_evidence)
    return result


def _assert_not_relevant(tagger: Tagger, title: str, text: str, language: str) -> None:
    result = tagger.tag(title, text, language)
    assert result.verdict != RELEVANT, (language, result.reason, result.relevance_evidence)


# language -> (title, text) of a story the lab wants: an automated check or model in a public service, said
# without "algorithm" or "artificial intelligence".
AUTOMATED_WITHOUT_THE_WORD_ALGORITHM = {
    "de": ("Jobcenter stoppt Zahlungen nach Datenabgleich",
           "Nach einem automatischen Datenabgleich mit dem Melderegister hat das Jobcenter Hunderten "
           "Leistungsempfängern das Bürgergeld gestrichen."),
    "it": ("Assegno unico sospeso dopo i controlli automatici",
           "I controlli automatici sulle banche dati hanno sospeso l'assegno unico a molte famiglie. I "
           "patronati chiedono spiegazioni all'istituto."),
    "pt": ("Robô nega benefícios a idosos",
           "O robô do INSS indeferiu pedidos de aposentadoria por divergências no cadastro, sem análise "
           "de um servidor."),
    "el": ("Διασταυρώσεις κόβουν συντάξεις",
           "Οι αυτόματες διασταυρώσεις στοιχείων του ΕΦΚΑ οδήγησαν σε περικοπές συντάξεων χωρίς ενημέρωση "
           "των συνταξιούχων."),
    "sv": ("Bedömningsstöd styr vem som får insatser",
           "Arbetsförmedlingen använder ett statistiskt bedömningsstöd för att sortera arbetssökande. "
           "Riksrevisionen granskar verktyget."),
    "cs": ("Úřad práce zavádí statistický model",
           "Úřad práce bude rozdělovat uchazeče o zaměstnání podle statistického modelu, který odhadne šanci "
           "najít práci."),
    "ro": ("Ajutoare tăiate după verificări automate",
           "Beneficiarii de ajutor social au pierdut plata după verificări automate în bazele de date, spun "
           "primăriile."),
    "hu": ("Adategyeztetés után követelik vissza a támogatást",
           "A Magyar Államkincstár automatikus adategyeztetése után több család családtámogatását "
           "visszakövetelik."),
    "no": ("Barnevernet vil bruke risikoverktøy",
           "Flere kommuner vil la barnevernet bruke et risikoverktøy som beregner faren for omsorgssvikt."),
    "sw": ("Mfumo wa kompyuta wapanga wanafunzi",
           "Mfumo wa kompyuta wa bodi ya mikopo unawaweka wanafunzi katika madaraja ya ufadhili wa elimu ya "
           "juu."),
    "ar": ("مطابقة آلية تستبعد المستفيدين",
           "أعلنت وزارة التضامن استبعاد أسر من برنامج الدعم النقدي بعد مطابقة آلية مع قواعد بيانات أخرى."),
}


@pytest.mark.parametrize("language", sorted(AUTOMATED_WITHOUT_THE_WORD_ALGORITHM))
def test_automated_checks_and_models_count_as_a_system(tagger: Tagger, language: str):
    title, text = AUTOMATED_WITHOUT_THE_WORD_ALGORITHM[language]
    _assert_relevant(tagger, title, text, language)


# language -> (title, text) of an off-topic story: pensions or benefits rise, with no automated system.
# Enough welfare vocabulary is found to judge them "not relevant" rather than leaving them to a reader.
# (A rise "automatica" is an automation cue: in passing, it leaves the story to a reader; see test_tagging.)
BENEFIT_NEWS = {
    "en": ("State pension to rise in April",
           "Pensioners will get more from April and the Pension Credit rises."),
    "de": ("Renten steigen im Juli", "Die Rentnerinnen und Rentner bekommen mehr Geld, meldet die Deutsche "
           "Rentenversicherung."),
    "it": ("Pensioni più alte da gennaio", "Con la rivalutazione annuale le pensioni salgono; l'Inps paga "
           "dal primo giorno del mese."),
    "es": ("Las pensiones suben en enero", "Los jubilados verán la subida de las pensiones en la nómina."),
    "pt": ("Aposentadorias terão reajuste",
           "As aposentadorias do INSS serão corrigidas a partir de janeiro."),
    "ar": ("زيادة المعاشات", "أعلنت الهيئة القومية للتأمين الاجتماعي صرف المعاشات بالزيادة الجديدة."),
    "sv": ("Högre garantipension", "Pensionsmyndigheten höjer bostadstillägget för pensionärer."),
    "da": ("Folkepensionen stiger", "Folkepensionen stiger for alle pensionister fra nytår."),
    "no": ("Pensjonistene får mer", "Alderspensjon øker, og pensjonister får etterbetaling i juni."),
    "fi": ("Kansaneläke nousee", "Kansaneläke ja takuueläke nousevat tammikuussa."),
    "tr": ("Emekli maaşlarına zam", "Emeklilerin maaşları ocakta arttı; emekli maaşı hesaplara yatacak."),
    "hi": ("वृद्धावस्था पेंशन बढ़ी", "वृद्धावस्था पेंशन की राशि बढ़ाई गई, पेंशनभोगी खुश हैं।"),
}


@pytest.mark.parametrize("language", sorted(BENEFIT_NEWS))
def test_benefit_news_without_a_system_is_not_relevant(tagger: Tagger, language: str):
    title, text = BENEFIT_NEWS[language]
    result = tagger.tag(title, text + " " + text, language)
    assert result.verdict == NOT_RELEVANT, (language, result.reason, result.relevance_evidence)
    assert "sector/welfare" in result.topic_ids


# A word of another subject whose stem is that of a term: (language, text, topic it must not get).
STEM_COLLISIONS = [
    ("hu", "A kamerák felvételeit egy szoftver elemzi a kórházban.", "sector/education"),  # felvételi
    ("id", "Kementerian menguji coba aplikasi di puskesmas.", "sector/education"),  # ujian / uji coba
    ("cs", "Třetina lékařů je v důchodovém věku.", "sector/welfare"),  # důchod / důchodový věk
    ("de", "Die Stiftung fordert eine unabhängige Prüfung der Software.", "sector/education"),  # Prüfung
    ("es", "El Instituto Mexicano del Seguro Social abre un hospital.", "sector/welfare"),  # seguridad social
    ("da", "Lederen af afdelingen går af.", "sector/welfare"),  # "ledige" would stem to "led", like "leder"
]


@pytest.mark.parametrize(("language", "text", "topic"), STEM_COLLISIONS)
def test_words_of_other_subjects_do_not_match_by_stem(tagger: Tagger, language: str, text: str, topic: str):
    assert topic not in tagger.tag("", text, language).topic_ids


def test_the_kept_forms_still_match(tagger: Tagger):
    assert "sector/education" in tagger.tag("", "A felvételi eljárásban hiba történt.", "hu").topic_ids
    assert "sector/education" in tagger.tag("", "Hasil ujian nasional diumumkan.", "id").topic_ids
    assert "sector/welfare" in tagger.tag("", "Invalidní důchody se zvýší.", "cs").topic_ids
    assert "sector/education" in tagger.tag("", "Die Abschlussprüfungen beginnen.", "de").topic_ids
    assert "sector/welfare" in tagger.tag("", "Afiliados a la Seguridad Social.", "es").topic_ids


def test_dutch_welfare_compounds_are_terms(tagger: Tagger):
    result = tagger.tag("", "Bijstandsgerechtigden kregen een brief over bijstandsfraude.", "nl")
    assert "sector/welfare" in result.topic_ids


def test_serbian_is_found_in_both_scripts(tagger: Tagger):
    latin = tagger.tag("Algoritam Socijalne karte",
                       "Centri za socijalni rad gube novčanu socijalnu pomoć.", "sr")
    cyrillic = tagger.tag("Алгоритам Социјалне карте",
                          "Центри за социјални рад губе новчану социјалну помоћ.", "sr")
    assert latin.verdict == cyrillic.verdict == RELEVANT
    assert "sector/welfare" in cyrillic.topic_ids


# language -> (title, text) of a story the lab wants whose only system wording is a term added in the concept
# audit of the system terms (risk and prediction models as Germanic compounds, decision-support tools,
# information systems, processing "in automatic mode", electronic verification, computerised allocation...).
SYSTEM_WORDING_OF_THE_PRESS = {
    "nl": ("Gemeente stopt met voorspelmodel",
           "De gemeente gebruikte een voorspelmodel om bijstandsgerechtigden te selecteren voor een "
           "huisbezoek."),
    "de": ("Finanzamt wählt Fälle mit Risikomodell aus",
           "Das Risikomodell der Finanzverwaltung entscheidet, welche Steuererklärungen ein Beamter prüft."),
    "sv": ("Försäkringskassans riskmodell granskas",
           "Försäkringskassan använde en riskmodell för att välja ut föräldrar för kontroll av tillfällig "
           "föräldrapenning."),
    "da": ("Kommunen dropper risikomodel",
           "Kommunen vil ikke længere bruge en risikomodel til at finde udsatte børn, siger socialudvalget."),
    "no": ("NAV tar i bruk profileringsmodell",
           "NAV bruker en profileringsmodell for å vurdere hvilke arbeidssøkere som trenger oppfølging."),
    "fr": ("Des outils d'aide à la décision à la CAF",
           "La caisse d'allocations familiales utilise des outils d'aide à la décision pour choisir les "
           "dossiers à contrôler."),
    "it": ("Inps, il sistema informativo blocca le domande",
           "Il sistema informativo dell'Inps ha respinto migliaia di domande di assegno di inclusione."),
    "ro": ("Repartizarea computerizată la liceu",
           "Ministerul Educației publică rezultatele repartizării computerizate a elevilor în licee."),
    "pl": ("Błąd w systemie ZUS",
           "W systemie teleinformatycznym ZUS wystąpił błąd i tysiące emerytów nie dostało świadczenia."),
    "ru": ("Пособие назначат без заявления",
           "Социальный фонд будет назначать пособие в автоматическом режиме, сообщило министерство."),
    "bg": ("Автоматичното класиране за детските градини",
           "Общината обяви резултатите от автоматичното класиране за прием в детските градини."),
    "el": ("Μοντέλο κινδύνου για τους ελέγχους",
           "Η ΑΑΔΕ επιλέγει τους φορολογούμενους για έλεγχο με ένα μοντέλο κινδύνου."),
    "ar": ("التحقق الإلكتروني يستبعد أسرا",
           "أعلنت وزارة التضامن استبعاد أسر من الدعم النقدي بعد التحقق الإلكتروني من بياناتها."),
    "hu": ("A rendszer automatikusan elutasította",
           "A kormányhivatal szerint a rendszer automatikusan elutasította a családi pótlék iránti "
           "kérelmeket."),
    "fi": ("Verohallinnon riskimalli",
           "Verohallinto valitsee tarkastettavat yritykset riskimallin avulla, kertoo virasto."),
    "tr": ("SGK bilişim sistemi başvuruları reddetti",
           "SGK'nın bilişim sistemi emeklilik başvurularını hatalı olarak reddetti."),
    "ko": ("복지 사각지대 발굴시스템",
           "보건복지부의 복지사각지대 발굴시스템이 위기가구를 찾아 지자체에 통보한다."),
    "ja": ("申請を自動審査",
           "自治体は給付金の申請を自動審査で処理し、一部の世帯が対象外とされた。"),
    "fa": ("مدل ریسک سازمان امور مالیاتی",
           "سازمان امور مالیاتی مودیان را با مدل ریسک برای رسیدگی انتخاب می‌کند."),
    "id": ("Dinas sosial memakai sistem pendukung keputusan",
           "Dinas sosial memakai sistem pendukung keputusan untuk menentukan penerima bantuan sosial."),
}


@pytest.mark.parametrize("language", sorted(SYSTEM_WORDING_OF_THE_PRESS))
def test_the_press_wording_of_systems_counts_as_a_system(tagger: Tagger, language: str):
    title, text = SYSTEM_WORDING_OF_THE_PRESS[language]
    _assert_relevant(tagger, title, text, language)


# (language, text): an off-topic sentence next to a public service that shares a stem or a word with one of
# those terms ("voorspel" of a match, "Risiko" on the road, a theatre's "ohjelmisto" (repertoire), Arabic
# "آلية" (mechanism) after "معالجة", Urdu "اے آئی جی" (a police rank), a political "rendszer"): not relevant.
WORDING_OF_OTHER_SUBJECTS = [
    ("nl", "Het voorspel van de wedstrijd duurde lang, zei de gemeente."),
    ("de", "Das Risiko für Kinder im Straßenverkehr steigt, warnt das Ministerium."),
    ("sv", "Modellen visade kläder för kommunens skolor."),
    ("fr", "Le décret porte sur l'affectation des fonctionnaires du ministère."),
    ("it", "Il sistema sanitario regionale assume nuovi medici in ospedale."),
    ("ro", "Repartizarea fondurilor europene către primării întârzie."),
    ("pl", "System emerytalny wymaga reformy, mówi minister."),
    ("ru", "Режим работы больницы изменился, сообщило министерство."),
    ("bg", "Класирането на отбора се подобри, каза министърът."),
    ("el", "Ο κίνδυνος πυρκαγιάς αυξάνεται, λέει το υπουργείο."),
    ("ar", "قررت الوزارة معالجة آلية الدعم الحالية وتحسينها."),
    ("hu", "A politikai rendszer változik, mondja a kormány."),
    ("fi", "Kunnan teatterin ohjelmisto julkistettiin, kertoi kunta."),
    ("ko", "유물 발굴 작업이 계속된다고 지자체가 밝혔다."),
    ("ur", "اے آئی جی پولیس نے اجلاس کی صدارت کی۔"),
]


@pytest.mark.parametrize(("language", "text"), WORDING_OF_OTHER_SUBJECTS)
def test_the_same_stems_in_other_subjects_are_not_a_system(tagger: Tagger, language: str, text: str):
    _assert_not_relevant(tagger, "", text, language)


def test_ai_written_against_japanese_and_korean_words_counts_as_a_system(tagger: Tagger):
    # Japanese and Korean glue particles and nouns to "AI": it is still a word there (a letter of another
    # script next to an abbreviation does not make it part of a longer word).
    japanese = tagger.tag("児童相談所のAIシステム",
                          "児童相談所がAIシステムの導入を見送った。過去の虐待事例を学習させた。", "ja")
    korean = tagger.tag("AI가 위기가구 선정", "보건복지부는 AI가 복지 수급자를 선정한다고 밝혔다.", "ko")
    assert japanese.verdict == korean.verdict == RELEVANT, (japanese.reason, korean.reason)


# language -> (title, text) of a story the lab wants: a benefit, health or school service gated by a national
# digital ID, an eID login or a face or identity check, named the way that language's press names it (a
# scheme, an agency, "liveness check", "prova de vida"), without "algorithm", "artificial intelligence" or
# the biometrics terms the taxonomy had before (Urdu spells "biometric" the other common way): only terms of
# the digital ID sweep find the system.
DIGITAL_ID_GATES = {
    "en": ("Pensioners locked out by liveness checks",
           "The Department for Work and Pensions asked claimants to prove who they are with GOV.UK One "
           "Login. Hundreds of older people failed the liveness check and their pension credit was "
           "stopped."),
    "fr": ("La CAF impose FranceConnect",
           "Les allocataires de la caisse d'allocations familiales doivent passer par FranceConnect pour "
           "déclarer leurs ressources ; sans identifiant, le RSA est suspendu."),
    "es": ("Llave MX para cobrar la pensión",
           "La Secretaría de Bienestar pedirá la CURP y una cuenta Llave MX a los adultos mayores que "
           "cobran la pensión. Quien no la tramite quedará fuera del programa social."),
    "pt": ("INSS bloqueia benefícios após prova de vida",
           "O INSS suspendeu aposentadorias de quem não fez a prova de vida por validação facial no "
           "aplicativo Meu INSS."),
    "de": ("Bürgergeld nur mit Online-Ausweis",
           "Das Jobcenter verlangt für den Weiterbewilligungsantrag die eID-Funktion des "
           "Personalausweises. Viele Leistungsberechtigte haben keinen PIN-Brief."),
    "nl": ("Toeslag pas na identiteitsverificatie",
           "De Dienst Toeslagen keert de huurtoeslag pas uit na een identiteitsverificatie met een "
           "gezichtsverificatie in de app."),
    "it": ("Assegno di inclusione solo con SPID",
           "L'Inps accetta le domande per l'assegno di inclusione solo con SPID o CieID; molti anziani "
           "restano senza sussidio."),
    "sv": ("Utan e-legitimation inget bostadstillägg",
           "Försäkringskassan kräver e-legitimation för att söka bostadstillägg. Pensionärer som saknar "
           "Freja eID får vänta i månader."),
    "da": ("Ældre uden NemID mister boligstøtte",
           "Kommunen har stoppet boligstøtten til pensionister, der ikke kunne logge ind med NemLog-in."),
    "no": ("NAV krever innlogging via ID-porten",
           "Søknader om dagpenger fra NAV krever innlogging via ID-porten med MinID; mange arbeidsledige "
           "får ikke søkt."),
    "fi": ("Kelan hakemus vain Suomi.fi-tunnistuksella",
           "Kelan asumistuen hakemus tehdään Suomi.fi-tunnistuksen kautta, eikä kaikilla eläkeläisillä ole "
           "pankkitunnuksia."),
    "pl": ("Świadczenie tylko przez Profil Zaufany",
           "ZUS przyjmuje wnioski o świadczenie tylko przez Profil Zaufany; seniorzy bez e-dowodu zostają "
           "bez pieniędzy."),
    "cs": ("Žádost o dávku jen přes bankovní identitu",
           "Úřad práce přijímá žádosti o příspěvek na bydlení přes Identitu občana a bankovní identitu."),
    "hu": ("Csak DÁP-pal igényelhető a családi pótlék",
           "A Magyar Államkincstár szerint a családi pótlék igényléséhez videós azonosítás szükséges."),
    "ro": ("Pensionarii se autentifică prin ROeID",
           "Casa Națională de Pensii cere pensionarilor să se autentifice prin ROeID pentru a primi "
           "pensia."),
    "el": ("Επίδομα μόνο με ψηφιακή ταυτοποίηση",
           "Ο ΟΠΕΚΑ ζητά από τους δικαιούχους του επιδόματος παιδιού ηλεκτρονική ταυτοποίηση μέσω του "
           "Gov.gr Wallet."),
    "tr": ("Sosyal yardım için yüz doğrulama",
           "Aile ve Sosyal Hizmetler Bakanlığı sosyal yardım başvurularında yüz doğrulama ve canlılık "
           "testi istiyor."),
    "ru": ("Пособие только через подтвержденную учетную запись",
           "Социальный фонд назначает пособие только тем, у кого есть подтвержденная учетная запись ЕСИА."),
    "uk": ("Допомога після верифікації особи",
           "Мінсоцполітики виплачує допомогу після верифікації особи через BankID."),
    "id": ("Penerima bansos wajib aktivasi IKD",
           "Kementerian Sosial mensyaratkan Identitas Kependudukan Digital bagi penerima bantuan sosial; "
           "pemadanan NIK mencoret ribuan keluarga."),
    "sw": ("Wagonjwa watakiwa kuwa na Maisha Card",
           "Wizara ya Afya inasema wagonjwa wanatakiwa kusajiliwa kwa Maisha Card ili kupata huduma "
           "hospitalini."),
    "hi": ("ई-केवाईसी नहीं तो राशन नहीं",
           "राज्य सरकार ने कहा कि ई-केवाईसी न कराने वाले परिवारों का राशन रोका जाएगा; पेंशनभोगी फेस "
           "ऑथेंटिकेशन से जीवन प्रमाण जमा करें।"),
    "bn": ("এনআইডি যাচাই ছাড়া ভাতা বন্ধ",
           "সমাজসেবা অধিদপ্তর জানিয়েছে, এনআইডি যাচাই ছাড়া বয়স্ক ভাতা দেওয়া হবে না।"),
    "ur": ("بائیو میٹرک تصدیق کے بغیر امداد نہیں",
           "حکومت نے کہا ہے کہ بینظیر انکم سپورٹ پروگرام کی رقم بائیو میٹرک تصدیق کے بعد ملے گی۔"),
    "ar": ("المعرف الوحيد للمواطن شرط للمساعدات",
           "أعلنت وزارة الشؤون الاجتماعية أن المعرف الوحيد للمواطن سيصبح شرطا للحصول على المساعدات "
           "الاجتماعية."),
    "ko": ("모바일 신분증으로 복지 신청",
           "행정안전부는 주민센터에서 모바일 신분증으로 기초생활수급 신청이 가능하다고 밝혔다."),
    "ja": ("マイナ保険証で受診",
           "厚生労働省はマイナ保険証への移行を進め、患者はマイナポータルで医療費を確認する。"),
}


@pytest.mark.parametrize("language", sorted(DIGITAL_ID_GATES))
def test_digital_id_gates_to_public_services_are_biometrics(tagger: Tagger, language: str):
    title, text = DIGITAL_ID_GATES[language]
    result = _assert_relevant(tagger, title, text, language)
    assert "system/biometrics" in result.topic_ids, (language, result.topic_ids)


# (language, text): an off-topic story with a digital-ID-like word: a bank's app login, a phone unlocked by
# the face, a queue for new ID cards or passport photos next to a public office (the electronic ID card itself
# is not a term: its queues are not a system): not relevant.
ID_WORDS_OF_OTHER_SUBJECTS = [
    ("en", "Long queues at the passport office as people renew their passports; the government says "
           "photos taken in booths are often rejected."),
    ("en", "The bank added a liveness check to its app: customers take a selfie before large transfers."),
    ("de", "Lange Schlangen in der Stadtverwaltung: Wer einen neuen Personalausweis beantragt, braucht ein "
           "aktuelles Passfoto."),
    ("es", "Colas en las comisarías de la Policía Nacional para renovar el DNI electrónico antes del "
           "verano."),
    ("fr", "Files d'attente à la mairie pour les cartes d'identité : les photos doivent être récentes."),
    ("it", "Lunghe code in questura e all'anagrafe per la carta d'identità elettronica, servono due "
           "fototessere."),
    ("el", "Ουρές στα αστυνομικά τμήματα για τις νέες ηλεκτρονικές ταυτότητες, λέει η αστυνομία."),
    ("ro", "Cozi la primăria capitalei pentru cartea electronică de identitate și pașapoarte."),
    ("pt", "O banco passa a exigir validação facial no aplicativo para transferências via Pix."),
    ("pl", "Bank wprowadza weryfikację tożsamości przy logowaniu do aplikacji mobilnej."),
    ("tr", "Banka uygulamasına girişte kimlik doğrulama adımı eklendi; müşteriler yüz doğrulama yapacak."),
    ("sv", "Banken inför ny inloggning med BankID i appen för kunder som vill se sina lån."),
    ("ko", "새 스마트폰은 안면인증으로 잠금을 해제하고 결제도 할 수 있다."),
    ("ja", "新しいスマートフォンは顔認証でロックを解除できる。"),
]


@pytest.mark.parametrize(("language", "text"), ID_WORDS_OF_OTHER_SUBJECTS)
def test_id_cards_bank_logins_and_face_unlock_are_not_relevant(tagger: Tagger, language: str, text: str):
    _assert_not_relevant(tagger, "", text, language)


# language -> (title, text) of a story the lab wants whose system is named only with the words of the sweep of
# automated administration: software robots doing case work, automatic decisions, allocation, scoring and
# early-warning models that sort people for a public service (by name where the press uses one: the Austrian
# labour-market model, Bangladesh's digital admission lottery, Croatia's e-Upisi, BISP's PMT score) and the
# matching of registers. Before the sweep each was "not relevant" or needed a reader.
AUTOMATED_ADMINISTRATION = {
    "ar": ("الرفض الآلي لطلبات الدعم",
           "اشتكت أسر من الرفض الآلي لطلباتها في برنامج الدعم النقدي دون أي تفسير من الوزارة."),
    "bg": ("Проблеми с електронното класиране",
           "Родители се оплакват от електронното класиране за първи клас в столичните училища."),
    "bn": ("ডিজিটাল লটারিতে স্কুলে ভর্তি",
           "সরকারি স্কুলে ভর্তিতে ডিজিটাল লটারির ফল প্রকাশ করেছে মাধ্যমিক ও উচ্চশিক্ষা অধিদপ্তর।"),
    "cs": ("Úřad práce vydává automatická rozhodnutí",
           "Automatická rozhodnutí o příspěvku na bydlení dostaly tisíce rodin bez vysvětlení."),
    "da": ("Kommunen indfører softwarerobotter",
           "Softwarerobotter skal behandle ansøgninger om boligstøtte, så sagsbehandlere får mere tid "
           "til borgerne."),
    "de": ("AMS-Modell vor Gericht",
           "Das Arbeitsmarktchancenmodell teilt Arbeitslose in drei Gruppen ein; Kritiker sehen Frauen "
           "benachteiligt."),
    "el": ("Αυτόματες αποφάσεις κόβουν επιδόματα",
           "Αυτόματες αποφάσεις του ΟΠΕΚΑ έκοψαν το επίδομα σε χιλιάδες δικαιούχους."),
    "en": ("Council's early warning system for pupils questioned",
           "The council's dropout early warning tool sorts pupils into colours; parents say schools "
           "never explained it."),
    "es": ("Hacienda y la Seguridad Social amplían el cruce de bases de datos",
           "El cruce de bases de datos entre organismos ha dejado sin el ingreso mínimo vital a miles de "
           "hogares."),
    "fa": ("پالایش یارانه و اعتراض خانوارها",
           "پس از پالایش یارانه بسیاری از خانوارها از دریافت یارانه محروم شدند."),
    "fi": ("Kela ottaa käyttöön ohjelmistorobotin",
           "Ohjelmistorobotti käsittelee jatkossa osan toimeentulotuen hakemuksista ilman ihmistä."),
    "fr": ("Radiation automatique des demandeurs d'emploi",
           "France Travail a procédé à la radiation automatique de milliers de demandeurs d'emploi après "
           "un rendez-vous manqué."),
    "hi": ("परिवार पहचान पत्र से कटी पेंशन",
           "परिवार पहचान पत्र में आय ज्यादा दिखने से कई बुजुर्गों की वृद्धावस्था पेंशन रुक गई।"),
    "hr": ("Kaos u sustavu e-Upisi",
           "Roditelji se žale da je sustav e-Upisi krivo rasporedio učenike u srednje škole."),
    "hu": ("Jelez a rendszer az iskolákban",
           "A pedagógiai támogató rendszer a lemorzsolódással veszélyeztetett tanulókat jelöli meg az "
           "iskolákban."),
    "id": ("Warga miskin dicoret oleh sistem",
           "Banyak keluarga penerima manfaat mengaku dicoret oleh sistem tanpa penjelasan dari dinas "
           "sosial."),
    "it": ("Il redditometro torna nel mirino",
           "Il redditometro stima il reddito dalle spese delle famiglie: i patronati temono accertamenti "
           "su pensionati e disoccupati."),
    "ja": ("年金記録の名寄せ作業",
           "日本年金機構は年金記録の名寄せを進め、受給者に通知を送った。"),
    "ko": ("위기가구 예측으로 복지 사각지대 발굴",
           "보건복지부는 위기가구 예측 모형으로 기초생활수급 대상자를 찾겠다고 밝혔다."),
    "nl": ("Inlichtingenbureau levert signalen aan gemeenten",
           "Het Inlichtingenbureau vergelijkt bestanden en stuurt gemeenten signalen over "
           "bijstandsgerechtigden met verzwegen inkomsten."),
    "no": ("Nav tar i bruk programvareroboter",
           "Programvareroboter skal behandle søknader om dagpenger, opplyser etaten."),
    "pl": ("Losowanie sędziów pod lupą",
           "System Losowania Przydziału Spraw ma przydzielać sprawy w sądach; posłowie pytają "
           "ministerstwo o kod."),
    "pt": ("INSS amplia indeferimento automático",
           "O indeferimento automático de pedidos de aposentadoria cresceu; segurados reclamam que "
           "ninguém analisou os documentos."),
    "ro": ("Decizii automate pentru ajutoarele sociale",
           "Mii de familii au primit decizii automate de încetare a ajutorului social, fără ca un "
           "funcționar să le verifice dosarul."),
    "ru": ("Пособия в беззаявительном порядке",
           "Социальный фонд будет назначать пособия в беззаявительном порядке; ошибки уже коснулись "
           "пенсионеров."),
    "sk": ("Úrad práce zavádza softvérové roboty",
           "Softvérové roboty budú spracovávať žiadosti o dávku v hmotnej núdzi."),
    "sl": ("Samodejne odločitve o otroškem dodatku",
           "Samodejne odločitve o otroškem dodatku so prejele družine brez obrazložitve."),
    "sr": ("Укрштање података укида социјалну помоћ",
           "Центри за социјални рад укидају новчану социјалну помоћ после укрштања података."),
    "sv": ("Mjukvarurobot fattar beslut om försörjningsstöd",
           "I kommunen är det en mjukvarurobot som prövar ansökningar om ekonomiskt bistånd varje månad."),
    "sw": ("Mfumo mpya wa ufadhili walalamikiwa",
           "Wanafunzi wanalalamika kwamba mfumo mpya wa ufadhili wa elimu ya juu uliwaweka katika "
           "madaraja ya juu."),
    "ta": ("கணினி நிராகரித்தது: பெண்கள் புகார்",
           "மகளிர் உரிமைத் தொகை விண்ணப்பங்களை கணினி நிராகரித்தது என்று பயனாளிகள் புகார் கூறுகின்றனர்."),
    "tr": ("Hane puanı sosyal yardımı kesti",
           "Hane puanı yükselen aileler sosyal yardım alamıyor; vatandaşlar puanın nasıl hesaplandığını "
           "bilmiyor."),
    "uk": ("Перехресна перевірка позбавила виплат",
           "Після перехресної перевірки даних Пенсійний фонд припинив соціальні виплати тисячам ВПО."),
    "ur": ("پی ایم ٹی اسکور پر سوالات",
           "بے نظیر انکم سپورٹ پروگرام میں پی ایم ٹی اسکور کی وجہ سے کئی مستحقین کی امداد بند ہو گئی۔"),
}


@pytest.mark.parametrize("language", sorted(AUTOMATED_ADMINISTRATION))
def test_automated_administration_counts_as_a_system(tagger: Tagger, language: str):
    title, text = AUTOMATED_ADMINISTRATION[language]
    result = _assert_relevant(tagger, title, text, language)
    system_topics = [topic for topic in result.topic_ids if topic.startswith("system/")]
    assert system_topics or "system term" in result.reason, (language, result.reason)


# (language, text): an off-topic story with the same words: industrial robots, a dating app's or a bank's
# matching, a league's points table, early warning of earthquakes, floods and tsunamis, a trial's
# cross-examination, journalists cross-checking sources, the police comparing witness statements, a bank's
# merging of customer records: not relevant, even next to a public-service word.
AUTOMATION_WORDS_OF_OTHER_SUBJECTS = [
    ("en", "The government's early warning system for earthquakes sent alerts to phones across the "
           "region within seconds."),
    ("en", "The dating app says its new matching software pairs people by shared hobbies; users can "
           "swipe for free."),
    ("en", "The league table shows the points system rewards away wins; the club's manager praised the "
           "players."),
    ("fr", "L'usine automobile a installé des robots industriels sur la chaîne de montage, annonce la "
           "direction."),
    ("fr", "Le rapprochement des deux clubs de football a été approuvé par les supporters."),
    ("es", "El banco usa el cruce de datos de sus clientes para ofrecer tarjetas de crédito y seguros."),
    ("de", "Die Fabrik setzt Industrieroboter in der Montage ein; die Gewerkschaft fordert Schulungen "
           "für die Belegschaft."),
    ("de", "Das Punktesystem der Bundesliga-Tabelle belohnt Auswärtssiege, sagte der Trainer nach dem "
           "Spiel."),
    ("nl", "De datingapp belooft een slimmer matchingsysteem voor singles die een relatie zoeken."),
    ("sv", "Fabriken i Västerås har byggt en ny robotcell för svetsning; facket välkomnar investeringen."),
    ("da", "Den nye robotstøvsuger kører automatisk rundt i stuen, skriver producenten."),
    ("it", "La banca usa l'incrocio dei dati dei clienti per proporre nuovi mutui e carte di credito."),
    ("pt", "A fábrica instalou robôs industriais na linha de montagem de automóveis em São Paulo."),
    ("pl", "Tabela punktowa ligi pokazuje, że drużyna z Krakowa prowadzi przed ostatnią kolejką."),
    ("hu", "Az árvízi előrejelző rendszer figyelmeztetett a Tisza áradására, közölte a vízügyi "
           "igazgatóság."),
    ("tr", "Mahkemede tanığa avukat tarafından çapraz sorgu yapıldı; dava ertelendi."),
    ("ru", "Редакция провела перекрестную проверку фактов перед публикацией, сообщил министр."),
    ("uk", "Журналісти провели перехресну перевірку джерел, повідомило міністерство."),
    ("ja", "銀行は預金保険制度に備えて顧客情報の名寄せを進めている。"),
    ("ko", "프로야구는 자동 볼 판정 시스템을 도입해 심판 판정 논란을 줄였다."),
    ("sw", "Polisi walilinganisha taarifa za mashahidi kabla ya kumkamata mshukiwa, serikali ilisema."),
    ("it", "La revoca automatica della patente scatta dopo la guida in stato di ebbrezza, ricorda la "
           "polizia."),
    ("ro", "Fabrica din Pitești a instalat roboți industriali pe linia de asamblare a mașinilor."),
    ("cs", "Továrna na auta nasadila průmyslové roboty na montážní linku, uvedlo vedení firmy."),
    ("fi", "Tehdas otti käyttöön teollisuusrobotteja kokoonpanolinjalla, kertoi yhtiö."),
    ("el", "Το εργοστάσιο εγκατέστησε βιομηχανικά ρομπότ στη γραμμή παραγωγής."),
    ("bg", "Отборът е първи в класирането след победата в неделя, каза треньорът."),
    ("ar", "أطلقت الحكومة نظام الإنذار المبكر من الزلازل لتنبيه السكان في المناطق الساحلية."),
    ("id", "Pemerintah memasang sistem peringatan dini tsunami di pantai selatan Jawa."),
    ("hr", "Vlada je najavila sustav ranog upozoravanja na poplave za općine uz Savu."),
]


@pytest.mark.parametrize(("language", "text"), AUTOMATION_WORDS_OF_OTHER_SUBJECTS)
def test_automation_words_of_other_subjects_are_not_relevant(tagger: Tagger, language: str, text: str):
    _assert_not_relevant(tagger, "", text, language)


# language -> (title, text) of a story the lab wants in which the generic word ("the system",
# "automatically") acts on people: the system rejected or excluded applicants. The word alone stays a cue;
# the phrase is a system.
SYSTEM_ACTS_ON_PEOPLE = {
    "cs": ("Úřad automaticky zamítl žádosti",
           "Úřad práce automaticky zamítl stovky žádostí o příspěvek na bydlení."),
    "de": ("Vom System aussortiert",
           "Hunderte Anträge auf Wohngeld wurden vom System aussortiert, bevor ein Sachbearbeiter sie "
           "sah."),
    "fi": ("Järjestelmä hylkäsi hakemukset",
           "Kelan järjestelmä hylkäsi satoja toimeentulotuen hakemuksia viikonloppuna."),
    "id": ("Ribuan warga ditolak sistem",
           "Ribuan warga miskin ditolak sistem saat mendaftar bantuan sosial, kata petugas dinas sosial."),
    "it": ("Assegno di inclusione, migliaia di esclusi",
           "Il sistema ha escluso migliaia di famiglie dall'assegno di inclusione per un errore nei dati "
           "Isee."),
    "sw": ("Wanafunzi walikataliwa na mfumo",
           "Maelfu ya wanafunzi walikataliwa na mfumo wa bodi ya mikopo ya elimu ya juu."),
}


@pytest.mark.parametrize("language", sorted(SYSTEM_ACTS_ON_PEOPLE))
def test_a_system_that_rejects_people_counts_as_a_system(tagger: Tagger, language: str):
    title, text = SYSTEM_ACTS_ON_PEOPLE[language]
    _assert_relevant(tagger, title, text, language)


# (language, text): the immune system rejecting a transplant, a political "system" rejecting a candidate.
SYSTEMS_OF_OTHER_SUBJECTS_THAT_REJECT = [
    ("en", "The immune system rejected the transplanted kidney, doctors at the hospital said."),
    ("it", "Il sistema immunitario ha respinto il trapianto, spiegano i medici dell'ospedale."),
    ("id", "Sistem imun tubuh menolak organ baru, kata dokter rumah sakit."),
    ("fr", "Le candidat antisystème a été rejeté par le système politique, selon le gouvernement."),
]


@pytest.mark.parametrize(("language", "text"), SYSTEMS_OF_OTHER_SUBJECTS_THAT_REJECT)
def test_immune_and_political_systems_that_reject_are_not_relevant(tagger: Tagger, language: str, text: str):
    _assert_not_relevant(tagger, "", text, language)


# (language, title, text, verdict): "AI" named in passing is a cue, not a system; in the headline, or with
# another cue, it is one. "AI" is searched in every language (the Swedish and Korean press write it so).
AI_MENTIONS = [
    ("en", "Teachers win pay rise after long dispute",
     "The education ministry agreed the deal with the teachers' unions; AI will not replace staff, it said.",
     NEEDS_READER),
    ("en", "Council uses AI to sort housing benefit claims",
     "Claimants say the council's new tool delays their housing benefit.", RELEVANT),
    ("sv", "AI ska sortera ansökningar om försörjningsstöd",
     "Kommunen vill korta handläggningstiden för ekonomiskt bistånd.", RELEVANT),
    ("it", "Pronto soccorso, mancano medici",
     "Negli ospedali del Lazio mancano medici e infermieri; l'intelligenza artificiale non basta, dice il "
     "sindacato.", NEEDS_READER),
    ("en", "Retailer uses AI to set prices", "The chain's AI changes prices in its shops every hour.",
     NOT_RELEVANT),
]


@pytest.mark.parametrize(("language", "title", "text", "verdict"), AI_MENTIONS)
def test_ai_in_passing_is_a_cue(tagger: Tagger, language: str, title: str, text: str, verdict: str):
    result = tagger.tag(title, text, language)
    assert result.verdict == verdict, (language, result.reason, result.relevance_evidence)


# (language, title, text): data analysis and data models that pick people out for checks, as the Nordic
# press names them (English had "data analytics"; these languages had no word for it).
NORDIC_DATA_MODELS = [
    ("sv", "Kommunen köper dataanalys för att hitta fusk", "Dataanalysen ska granska alla som får "
     "försörjningsstöd."),
    ("da", "Kommunen kontrollerer borgere med dataanalyser", "Dataanalyserne udpeger modtagere af "
     "boligstøtte til kontrol."),
    ("no", "Lånekassen kontrollerte studenter med datamodell", "Studentene fikk stipendet omgjort til lån."),
]


@pytest.mark.parametrize(("language", "title", "text"), NORDIC_DATA_MODELS)
def test_nordic_data_analysis_is_a_system(tagger: Tagger, language: str, title: str, text: str):
    _assert_relevant(tagger, title, text, language)
