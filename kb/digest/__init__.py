"""The weekly media-monitoring digest: the draft a coordinator edits and previews (`draft`, with its
e-mail templates in `templates/`), who receives it (`recipients`), sending and the record of each
delivery (`deliveries`), and the SMTP session (`mail`).

Builds on the records, `kb.storage` and `kb.text`; nothing else of `kb` imports it. A new digest section
goes in `draft` and its templates.
"""
