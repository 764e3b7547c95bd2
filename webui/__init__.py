"""The web UI: a Flask app factory (`app.create_app`) with one blueprint module per area (search, items
and curation, sources, contacts, cases, digest, dashboard, admin, auth, the JSON API), its templates
under `templates/<area>/`, sign-in and roles (`access`), error pages (`errors`) and the waitress server.

Imports `kb` and never `ingest`: what the sources page needs from fetching is handed in by the `kb`
command (`create_app(..., intake=...)`). No SQL and no Whoosh here; every action is a `kb` function.
A new page goes in its area's blueprint module and template folder.
"""
