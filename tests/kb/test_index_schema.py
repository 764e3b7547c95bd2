"""The schema's fast field format writes exactly the postings Whoosh's own analysis would."""

from __future__ import annotations

from whoosh import fields

from kb.search.index.schema import TITLE_BOOST, WORDS, build_schema


def test_word_counts_give_the_postings_of_the_space_splitting_analyzer():
    text = "algorithm fraud algorithm risk score fraud algorithm uitkering ذكاء"
    schema = build_schema()
    for name, plain in (("title", fields.TEXT(analyzer=WORDS, phrase=False, field_boost=TITLE_BOOST)),
                        ("text", fields.TEXT(analyzer=WORDS, phrase=False)),
                        ("vocab", fields.KEYWORD(stored=False, commas=False, lowercase=False,
                                                 scorable=False))):
        fast = sorted(schema[name].index(text))
        assert fast == sorted(plain.index(text)), name
    assert (b"algorithm", 3, 3 * TITLE_BOOST) == sorted(schema["title"].index(text))[0][:3]
