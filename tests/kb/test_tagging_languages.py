"""Every language of the taxonomy: a relevant article is tagged with its sector and judged relevant, an
off-topic one (sport, weather, culture) is not; uncovered languages and thin evidence need a reader."""

from __future__ import annotations

import pytest

from kb.text.normalize import match_method
from kb.text.tagging import NEEDS_READER, NOT_RELEVANT, RELEVANT, Tagger
from kb.text.taxonomy import load_taxonomy

# language -> (expected sector, title, text) of an article the lab wants to see. Written for these tests.
RELEVANT_ARTICLES = {
    "sv": ("sector/welfare", "Försäkringskassans algoritm pekade ut föräldrar",
           "Försäkringskassan har använt en algoritm för att välja ut vilka som ska kontrolleras "
           "för felaktiga "
           "utbetalningar av föräldrapenning. Granskningen visar att modellen oftare pekade ut kvinnor och "
           "personer med utländsk bakgrund."),
    "da": ("sector/welfare", "Algoritme skal finde snyd med kontanthjælp",
           "Udbetaling Danmark bruger en algoritme til at udpege borgere, der skal kontrolleres for snyd med "
           "ydelser. Datatilsynet undersøger nu, om kommunerne har lovhjemmel til profileringen."),
    "no": ("sector/welfare", "NAV brukte algoritme i saker om sykepenger",
           "NAV har tatt i bruk en algoritme som skal forutsi hvor lenge folk blir sykmeldt. "
           "Personvernombud og "
           "jurister advarer om at automatiserte vedtak om trygd kan svekke rettssikkerheten."),
    "fi": ("sector/welfare", "Kela kokeilee tekoälyä toimeentulotuen käsittelyssä",
           "Kela aikoo käyttää tekoälyä toimeentulotuen hakemusten käsittelyssä. Oikeusasiamies muistuttaa, "
           "että automaattinen päätöksenteko vaatii lain tuen."),
    "pl": ("sector/welfare", "Algorytm ZUS typuje zwolnienia lekarskie do kontroli",
           "Zakład Ubezpieczeń Społecznych wykorzystuje algorytm, który wskazuje zwolnienia do kontroli i "
           "wstrzymania świadczeń. Rzecznik Praw Obywatelskich pyta, czy zasady profilowania są jawne."),
    "cs": ("sector/welfare", "Úřad práce nasadil algoritmus na kontrolu dávek",
           "Úřad práce začal používat algoritmus, který vyhodnocuje žádosti o sociální dávky. Ombudsman "
           "upozorňuje, že lidé nevědí, proč jim byla dávka zamítnuta."),
    "sk": ("sector/welfare", "Sociálna poisťovňa testuje algoritmus na kontrolu dávok",
           "Sociálna poisťovňa spustila algoritmus, ktorý má odhaľovať zneužívanie dávok v nezamestnanosti. "
           "Odborníci varujú, že automatizované rozhodovanie môže diskriminovať ľudí v hmotnej núdzi."),
    "ro": ("sector/welfare", "Un algoritm decide cine primește ajutoare sociale",
           "Agenția pentru plăți și inspecție socială folosește un algoritm pentru a verifica dosarele de "
           "venit minim de incluziune. Mii de familii au rămas fără ajutor social fără nicio explicație."),
    "hu": ("sector/welfare", "Algoritmus dönt a szociális ellátásokról",
           "A kormány algoritmust vezetett be a szociális ellátások jogosultságának ellenőrzésére. "
           "A jogvédők "
           "szerint az automatizált döntés átláthatatlan, és nincs valódi jogorvoslat."),
    "bg": ("sector/welfare", "Алгоритъм ще проверява социалните помощи",
           "Агенцията за социално подпомагане въвежда алгоритъм, който ще проверява кой има право на помощ. "
           "Правозащитници предупреждават, че автоматизираните решения може да оставят хора без подкрепа."),
    "el": ("sector/welfare", "Αλγόριθμος θα ελέγχει τα επιδόματα",
           "Η κυβέρνηση ανακοίνωσε ότι ένας αλγόριθμος θα διασταυρώνει τα στοιχεία των δικαιούχων για το "
           "επίδομα ανεργίας. Ο Συνήγορος του Πολίτη ζητά διαφάνεια για τα κριτήρια."),
    "hr": ("sector/welfare", "Algoritam odlučuje o zajamčenoj minimalnoj naknadi",
           "Ministarstvo je uvelo algoritam koji provjerava pravo na zajamčenu minimalnu naknadu. "
           "Pravobraniteljica "
           "upozorava da su stotine korisnika ostale bez socijalne pomoći."),
    "sr": ("sector/welfare", "Socijalna karta i algoritam ukinuli pomoć hiljadama porodica",
           "Nakon uvođenja Socijalne karte, algoritam je hiljadama porodica ukinuo novčanu socijalnu pomoć. "
           "Zaštitnik građana traži da centri za socijalni rad objasne odluke."),
    "sl": ("sector/welfare", "Algoritem bo preverjal upravičenost do socialne pomoči",
           "Ministrstvo za delo uvaja algoritem, ki bo samodejno preverjal upravičenost do denarne socialne "
           "pomoči. Informacijski pooblaščenec opozarja na varstvo osebnih podatkov."),
    "tr": ("sector/welfare", "Sosyal yardımlarda algoritma dönemi",
           "Bakanlık, sosyal yardım başvurularını bir algoritma ile değerlendirmeye başladı. "
           "Binlerce ailenin "
           "yardımları kesildi ve itiraz yolu belirsiz kaldı."),
    "ru": ("sector/welfare", "Алгоритм Социального фонда отказывает в выплатах",
           "Социальный фонд использует алгоритм для автоматического назначения социальных выплат семьям. "
           "Правозащитники говорят, что многие получили отказ в выплате без объяснений."),
    "uk": ("sector/welfare", "Алгоритм перевірятиме отримувачів соціальної допомоги",
           "Міністерство запроваджує автоматизовану перевірку отримувачів соціальної допомоги. Експерти "
           "застерігають, що алгоритм може помилково позбавити людей виплат."),
    "id": ("sector/welfare", "Algoritma DTKS coret jutaan penerima bansos",
           "Kementerian Sosial menggunakan algoritma untuk memperbarui data penerima bantuan "
           "sosial. Ombudsman "
           "menerima banyak keberatan dari warga yang dicoret dari Program Keluarga Harapan."),
    "sw": ("sector/welfare", "Mfumo wa kidijitali wa Inua Jamii wawaondoa wazee",
           "Serikali imeanza kutumia mfumo wa kidijitali kuchagua walengwa wa mpango wa Inua Jamii. "
           "Wazee wengi "
           "wamelalamika kuondolewa kwenye orodha ya walengwa bila maelezo."),
    "hi": ("sector/welfare", "राशन कार्ड से नाम कटे, एल्गोरिदम पर सवाल",
           "राज्य सरकार ने राशन कार्ड की जांच के लिए एक एल्गोरिदम का इस्तेमाल किया। हजारों लाभार्थियों के "
           "नाम सूची से हटा दिए गए और अब वे शिकायत कर रहे हैं।"),
    "bn": ("sector/welfare", "অ্যালগরিদমের কারণে বয়স্ক ভাতা বন্ধ",
           "সরকার ভাতাভোগীদের তালিকা যাচাইয়ে একটি অ্যালগরিদম ব্যবহার করছে। অনেক উপকারভোগী বয়স্ক ভাতা থেকে "
           "বঞ্চিত হয়েছেন বলে অভিযোগ উঠেছে।"),
    "ta": ("sector/welfare", "அல்காரிதம் காரணமாக உதவித்தொகை நிறுத்தம்",
           "மகளிர் உரிமைத் தொகை பயனாளிகளைத் தேர்வு செய்ய அரசு ஒரு அல்காரிதம் பயன்படுத்துகிறது. பல பெண்கள் "
           "விலக்கப்பட்ட நிலையில் மேல்முறையீடு செய்துள்ளனர்."),
    "ur": ("sector/welfare", "الگورتھم نے ہزاروں خاندانوں کو امداد سے محروم کر دیا",
           "حکومت نے بے نظیر انکم سپورٹ پروگرام کے مستحقین کی جانچ کے لیے نیا الگورتھم متعارف کرایا ہے۔ "
           "ہزاروں خواتین نے شکایت کی ہے کہ وہ امدادی رقم سے محروم ہو گئی ہیں۔"),
    "fa": ("sector/welfare", "الگوریتم دهک‌بندی یارانه‌ها زیر سؤال",
           "دولت برای حذف یارانه از الگوریتم دهک‌بندی استفاده می‌کند. بسیاری از خانواده‌ها می‌گویند "
           "به اشتباه "
           "حذف شدند و اعتراض آنها بی‌پاسخ مانده است."),
    "ko": ("sector/welfare", "인공지능으로 부정수급 적발한다",
           "보건복지부는 인공지능을 활용해 복지 부정수급 의심 사례를 찾아내는 시스템을 도입한다고 밝혔다. "
           "시민단체는 기초생활수급자에 대한 차별과 개인정보 침해를 우려했다."),
    "ja": ("sector/welfare", "生活保護の審査にAI導入へ",
           "厚生労働省は生活保護の申請審査に人工知能を活用する方針を示した。支援団体は、アルゴリズムによる"
           "自動判定で受給者が排除されるおそれがあると指摘している。"),
    # Other sectors, a few languages each.
    "sv-education": ("sector/education", "Algoritm fördelade elever till fel skolor",
                     "I Göteborg placerade en algoritm hundratals elever på skolor långt från "
                     "hemmet. Kommunen "
                     "medger att skolvalet blev fel."),
    "pl-health": ("sector/health", "Sztuczna inteligencja w szpitalach",
                  "Ministerstwo Zdrowia chce, by algorytm oceniał pilność przyjęć pacjentów w szpitalach. "
                  "Lekarze obawiają się błędów."),
    "tr-education": ("sector/education", "Sınav sonuçlarında algoritma tartışması",
                     "ÖSYM'nin sınav puanlarını hesaplayan algoritması öğrenciler arasında tartışma yarattı. "
                     "Veliler şeffaflık istiyor."),
    "ru-health": ("sector/health", "Искусственный интеллект в поликлиниках",
                  "Минздрав внедряет искусственный интеллект для предварительной диагностики пациентов в "
                  "поликлиниках. Врачи сомневаются в точности алгоритма."),
    "ja-health": ("sector/health", "病院でAIトリアージ",
                  "都内の病院で、人工知能が救急患者の緊急度を判定するトリアージの試行が始まった。"),
    "ko-education": ("sector/education", "수능 채점에 인공지능 도입 논란",
                     "교육부가 서술형 시험에 인공지능 자동 채점을 도입하겠다고 밝히자 "
                     "학생과 교사들이 반발했다."),
    "fi-education": ("sector/education", "Tekoäly arvioi ylioppilastutkinnon vastauksia",
                     "Ylioppilastutkintolautakunta selvittää, voisiko tekoäly arvioida ylioppilastutkinnon "
                     "vastauksia. Opettajat epäilevät algoritmin osaamista."),
    "id-health": ("sector/health", "Rumah sakit pakai kecerdasan buatan untuk triase",
                  "Beberapa rumah sakit pemerintah mulai memakai kecerdasan buatan untuk triase "
                  "pasien di IGD."),
}

# language -> (title, text) about sport, weather or culture: nothing for the lab.
OFF_TOPIC_ARTICLES = {
    "sv": ("Malmö FF vann derbyt", "Malmö FF vann med 2–1 efter ett sent mål i andra halvlek. Tränaren "
           "berömde försvaret och publiken sjöng länge efter slutsignalen."),
    "da": ("Regn og blæst i weekenden", "Et lavtryk bringer kraftig regn og hård vind til hele "
                                        "landet lørdag. "
           "Temperaturen falder til fem grader om natten."),
    "no": ("Ny roman om kysten", "Forfatteren har skrevet en roman om fiskere på kysten av "
                                 "Nordland. Boken ble "
           "godt mottatt av kritikerne i helgen."),
    "fi": ("Lumimyräkkä sulki tiet", "Voimakas lumimyräkkä katkaisi sähköt tuhansista kodeista Lapissa. "
           "Pakkasta on ensi yönä jopa kolmekymmentä astetta."),
    "pl": ("Legia wygrała w derbach", "Piłkarze Legii pokonali rywali 3:1 w niedzielnym meczu. "
                                      "Trener chwalił "
           "obronę, a kibice świętowali do późnej nocy."),
    "cs": ("Sparta porazila Slavii", "Fotbalisté Sparty vyhráli derby dvěma góly ve druhém poločase. Trenér "
           "ocenil obranu a fanoušci slavili dlouho do noci."),
    "sk": ("Búrky a silný vietor", "Meteorológovia varujú pred búrkami a silným vetrom na západe krajiny. "
           "Teploty v noci klesnú na päť stupňov."),
    "ro": ("Concert de vară la Cluj", "Orchestra a cântat în fața a zece mii de spectatori în "
                                      "centrul orașului. "
           "Festivalul continuă până duminică cu muzică de jazz."),
    "hu": ("Győzött a Ferencváros", "A Ferencváros két góllal nyert a bajnokság rangadóján. Az edző "
                                    "dicsérte a "
           "védelmet, a szurkolók sokáig ünnepeltek."),
    "bg": ("Силен снеговалеж в планините", "Обилен сняг падна в планините през нощта, а "
                                           "температурите паднаха "
           "под нулата. Пътищата към курортите са затворени."),
    "el": ("Νίκη για τον Ολυμπιακό", "Ο Ολυμπιακός κέρδισε με δύο γκολ στο δεύτερο ημίχρονο. Ο προπονητής "
           "επαίνεσε την άμυνα και οι φίλαθλοι πανηγύρισαν μέχρι αργά."),
    "hr": ("Dinamo slavio u derbiju", "Nogometaši Dinama pobijedili su Hajduk golom u posljednjoj minuti. "
           "Trener je pohvalio obranu, a navijači su slavili do kasno u noć."),
    "sr": ("Kiša i vetar tokom vikenda", "Meteorolozi najavljuju jaku kišu i olujni vetar u subotu. "
           "Temperatura će pasti na pet stepeni, a u planinama je moguć sneg."),
    "sl": ("Nov roman o reki Soči", "Pisateljica je izdala roman o življenju ob reki Soči. Knjigo so kritiki "
           "dobro sprejeli, predstavitev bo v petek v Ljubljani."),
    "tr": ("Galatasaray derbiyi kazandı", "Galatasaray ikinci yarıda attığı iki golle derbiyi "
                                          "kazandı. Teknik "
           "direktör savunmayı övdü, taraftarlar gece boyunca kutlama yaptı."),
    "ru": ("Снегопад парализовал движение", "Сильный снегопад накрыл столицу, на дорогах "
                                            "образовались пробки. "
           "Синоптики обещают мороз до двадцати градусов."),
    "uk": ("Динамо перемогло у дербі", "Футболісти Динамо забили два голи у другому таймі. Тренер похвалив "
           "захист, а вболівальники святкували до пізньої ночі."),
    "id": ("Hujan deras guyur Jakarta", "Hujan deras disertai angin kencang melanda Jakarta sejak sore. "
           "Beberapa ruas jalan tergenang banjir setinggi lutut."),
    "sw": ("Simba yashinda mechi ya watani", "Simba imeshinda mabao mawili kwa moja katika mechi ya "
                                             "Jumamosi. "
           "Kocha alisifu safu ya ulinzi na mashabiki walisherehekea hadi usiku."),
    "hi": ("भारत ने मैच जीता", "भारतीय टीम ने आखिरी ओवर में रोमांचक जीत दर्ज की। कप्तान ने गेंदबाजों की "
           "तारीफ की और दर्शकों ने जमकर जश्न मनाया।"),
    "bn": ("ঢাকায় ভারী বৃষ্টি", "সকাল থেকে ঢাকায় ভারী বৃষ্টি হচ্ছে। আবহাওয়া অফিস জানিয়েছে আগামী দুই দিন "
           "বৃষ্টি চলবে।"),
    "ta": ("புதிய திரைப்படம் வெளியீடு", "இயக்குநரின் புதிய திரைப்படம் இன்று வெளியானது. ரசிகர்கள் "
                                        "திரையரங்குகளில் "
           "கொண்டாடினர்."),
    "ur": ("پاکستان نے میچ جیت لیا", "قومی ٹیم نے آخری اوور میں سنسنی خیز مقابلے کے بعد میچ جیت لیا۔ کپتان "
           "نے بولرز کی تعریف کی اور شائقین نے جشن منایا۔"),
    "fa": ("بارش شدید در تهران", "بارش شدید باران از صبح امروز در تهران آغاز شد. هواشناسی پیش‌بینی می‌کند "
           "دما تا پایان هفته کاهش یابد."),
    "ko": ("손흥민 결승골", "손흥민이 후반 추가 시간에 결승골을 넣으며 팀의 승리를 이끌었다. "
           "감독은 선수들의 투지를 칭찬했다."),
    "ja": ("週末は大雨の予報", "気象庁によると、週末は西日本を中心に大雨となる見込みです。"
           "気温も平年より低くなります。"),
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_taxonomy())


REQUIRED = ("en fr es de nl pt ar it sv da no fi pl cs sk ro hu bg el hr sr sl tr ru uk id sw hi bn ta ur fa "
            "ko ja").split()


def test_the_taxonomy_covers_at_least_thirty_languages(tagger: Tagger):
    taxonomy = tagger.taxonomy
    assert len(taxonomy.languages) >= 30
    assert set(REQUIRED) <= taxonomy.languages
    for language in REQUIRED:
        assert taxonomy.system_terms.get(language), language
        assert taxonomy.public_terms.get(language), language
        for sector in ("sector/welfare", "sector/education", "sector/health"):
            assert taxonomy.get(sector).terms.get(language), (sector, language)


@pytest.mark.parametrize(
    ("language", "method"),
    [("sv", "stemmer"), ("pl", "stemmer"), ("hr", "stemmer"), ("sk", "lemmatizer"), ("uk", "lemmatizer"),
     ("bg", "lemmatizer"), ("sl", "lemmatizer"), ("sw", "lemmatizer"), ("ja", "substring"),
     ("ko", "substring"), ("bn", "prefix"), ("ur", "word")],
)
def test_each_language_has_a_matching_method(language: str, method: str):
    assert match_method(language) == method


@pytest.mark.parametrize("case", sorted(RELEVANT_ARTICLES))
def test_relevant_article_in_each_language(tagger: Tagger, case: str):
    language = case.split("-")[0]
    sector, title, text = RELEVANT_ARTICLES[case]
    result = tagger.tag(title, text, language)
    topics = set(result.topic_ids)
    assert sector in topics, sorted(topics)
    assert result.relevant, (result.verdict, result.reason)
    assert result.verdict == RELEVANT
    assert "other languages" not in result.reason  # found with the article's own terms
    assert "system term" in result.reason


@pytest.mark.parametrize("language", sorted(OFF_TOPIC_ARTICLES))
def test_off_topic_article_in_each_language(tagger: Tagger, language: str):
    title, text = OFF_TOPIC_ARTICLES[language]
    result = tagger.tag(title, text, language)
    facets = {topic.split("/")[0] for topic in result.topic_ids}
    assert not result.relevant
    assert result.verdict == NOT_RELEVANT, result.reason
    assert not facets & {"system", "sector"}, result.topic_ids


@pytest.mark.parametrize(
    ("language", "name", "title", "text"),
    [
        ("am", "Amharic", "የማህበራዊ ድጋፍ ስርዓት", "መንግስት አዲስ የዲጂታል ስርዓት በመጠቀም የማህበራዊ ድጋፍ ተጠቃሚዎችን እየመረጠ ነው። "
         "ብዙ ቤተሰቦች ከዝርዝሩ ተወግደዋል።"),
        ("km", "Khmer", "ប្រព័ន្ធជំនួយសង្គម", "រដ្ឋាភិបាលបានប្រើប្រព័ន្ធឌីជីថលថ្មីដើម្បីជ្រើសរើសគ្រួសារក្រីក្រ។"),
        ("zu", "Zulu", "Uhlelo lwezibonelelo", "Uhulumeni usebenzisa uhlelo olusha lwedijithali ukukhetha "
         "abantu abazothola izibonelelo zenhlalakahle. Imindeni eminingi ikhishiwe ohlwini."),
    ],
)
def test_uncovered_language_needs_a_reader(tagger: Tagger, language: str, name: str, title: str, text: str):
    assert not tagger.covers(language)
    result = tagger.tag(title, text, language)
    assert not result.relevant
    assert result.verdict == NEEDS_READER
    assert f"no terms for {name}" in result.reason


def test_unknown_language_needs_a_reader(tagger: Tagger):
    result = tagger.tag("Ein Titel", "Dieser Text hat keine Sprache angegeben und keine Begriffe.", "und")
    assert result.verdict == NEEDS_READER
    assert "language unknown" in result.reason


def test_thin_evidence_needs_a_reader(tagger: Tagger):
    result = tagger.tag("", "Ett nytt verktyg visades på mässan, sade utvecklaren, och algoritmen "
                            "var snabb.", "sv")
    assert not result.relevant
    assert result.verdict == NEEDS_READER
    assert result.reason == "too little evidence: 1 system term"


def test_one_sided_evidence_is_not_relevant_and_says_why(tagger: Tagger):
    result = tagger.tag("New chatbot writes poems", "The chatbot uses machine learning to write verse.", "en")
    assert result.verdict == NOT_RELEVANT
    assert result.reason == "2 system terms, no public-service term"


def test_relevant_reason_counts_terms_by_kind(tagger: Tagger):
    result = tagger.tag("Welfare algorithm", "The agency's algorithm scores benefit claimants.", "en")
    assert result.verdict == RELEVANT
    assert "welfare term" in result.reason and "system term" in result.reason


def test_misdetected_language_falls_back_to_every_language(tagger: Tagger):
    result = tagger.tag("", "La Caisse nationale des allocations familiales utilise un algorithme.", "sv")
    assert result.relevant
    assert "other languages" in result.reason


def test_empty_item_needs_a_reader(tagger: Tagger):
    result = tagger.tag("", "", "sv")
    assert result.verdict == NEEDS_READER and not result.relevant


def test_agency_names_match_in_every_language(tagger: Tagger):
    for name, language in (("Försäkringskassan", "de"), ("Udbetaling Danmark", "fr"), ("NAV", "pl"),
                           ("ZUS", "en"), ("DWP", "sv")):
        assert "sector/welfare" in tagger.tag("", f"{name} ...", language).topic_ids, name
    assert "sector/welfare" not in tagger.tag("", "Vi nav och hjul", "sv").topic_ids
