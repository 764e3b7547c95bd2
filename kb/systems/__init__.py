"""The register of algorithmic systems: each system's record, its status timeline, and its links to items
(suggested by the monitoring, confirmed or rejected by a person), case files and contacts.

Access: every active user reads the register (`can_read_systems`); coordinators and admins change it
(`can_edit_systems`): records, timelines and every link. Contacts linked to a system are shown under the
rules of kb.contacts (`system_contacts`). Every change a person makes is written to the audit log (entity
"system") in the transaction that makes it; nothing is half-written.

Public functions (the web UI, the JSON API and `kb systems` call these):
- Reading: `list_systems(db, user, country=, sector=, status=, q=)`, `get_system`, `find_system_by_name`,
  `timeline(db, user, id)` (status steps, oldest first, each with its evidence item ids),
  `system_links(db, user, id, state=)` (the system's items), `links_for_items(db, item_ids)` (the systems
  of items, for item pages and the queue), `item_ids_for_system(db, id, states)` (for filters),
  `system_cases`, `systems_for_case`, `system_contacts`,
  `system_history` (audit, admins), `mentions_by_month(db, id)` (confirmed and suggested items per month
  and language, for a chart).
- Changing: `create_system(db, user, fields)`, `update_system(db, user, id, changes)`, `delete_system`;
  `add_status(db, user, id, status, date, note=, item_ids=)`, `remove_status`; `confirm_link`,
  `reject_link`, `link_item` (a person adds a confirmed link), `unlink_item`; `link_case`, `unlink_case`,
  `link_contact`, `unlink_contact`.
- Monitoring: `suggest_for_item(db, item_id, title, summary, text)` runs inside kb.items.store_item's
  transaction and writes "suggested" links with the matched aliases as evidence; `rematch(db, item_ids)`
  does it again for stored items (`kb systems suggest`). Neither ever touches a confirmed or rejected link:
  a rejected suggestion never comes back. `possible_new_systems(db)` lists items tagged with a kind of
  system and a country that name no system; `draft_from_item(db, user, item_id, name)` makes a draft
  system from one.
- In and out: `import_systems(db, user, csv_bytes, dry_run=)` (one transaction per row, a report per
  row), `export_records(db, user)` and `export_csv`; `load_sample_register(db, records)` and
  `link_cases_by_name(db)` for the demo and for case files whose free-text system name names a system.

Fields follow the UK Algorithmic Transparency Recording Standard where one fits (README, "Register of
systems"): `organisation` (deploying agency), `external_supplier` (developer or vendor), `description`
(purpose), `decision` (the decision it informs), `impact_assessment`. Country, sector, kind and rights are
taxonomy topic ids ("country/nl", "sector/welfare", "system/risk-scoring", "right/privacy"); "NL" or
"welfare" are accepted and written out in full.

Modules: `records` (records, timelines, links, access, validation), `matching` (suggestions, "maybe a
new system"), `exchange` (CSV and JSON, the starter register). Everything public is re-exported here:
`from kb import systems; systems.create_system(...)`.
"""

from kb.systems.exchange import (
    CSV_COLUMNS,
    SampleRegisterReport,
    export_csv,
    export_records,
    import_systems,
    load_sample_register,
)
from kb.systems.matching import (
    NewSystemCandidate,
    draft_from_item,
    link_cases_by_name,
    matcher,
    possible_new_systems,
    rematch,
    suggest_for_item,
)
from kb.systems.records import (
    FIELDS,
    IMPACT_ASSESSMENT,
    LEVELS,
    LINK_STATES,
    SOURCE_DISCLOSED,
    STATUSES,
    StatusStep,
    System,
    SystemCase,
    SystemContact,
    SystemLink,
    add_status,
    can_edit_systems,
    can_read_systems,
    clean_fields,
    confirm_link,
    create_system,
    delete_system,
    find_system,
    find_system_by_name,
    get_system,
    item_ids_for_system,
    link_case,
    link_contact,
    link_item,
    links_for_items,
    list_systems,
    mentions_by_month,
    parse_status_date,
    reject_link,
    remove_status,
    system_cases,
    system_contacts,
    system_history,
    system_links,
    systems_for_case,
    systems_for_index,
    timeline,
    unlink_case,
    unlink_contact,
    unlink_item,
    update_system,
)

__all__ = [
    "CSV_COLUMNS", "FIELDS", "IMPACT_ASSESSMENT", "LEVELS", "LINK_STATES", "SOURCE_DISCLOSED", "STATUSES",
    "NewSystemCandidate", "SampleRegisterReport", "StatusStep", "System", "SystemCase", "SystemContact",
    "SystemLink", "add_status", "can_edit_systems", "can_read_systems", "clean_fields", "confirm_link",
    "create_system", "delete_system", "draft_from_item", "export_csv", "export_records", "find_system",
    "find_system_by_name", "get_system", "import_systems", "item_ids_for_system", "link_case",
    "link_cases_by_name",
    "link_contact", "link_item", "links_for_items", "list_systems", "load_sample_register", "matcher",
    "mentions_by_month", "parse_status_date", "possible_new_systems", "reject_link", "rematch",
    "remove_status", "suggest_for_item", "system_cases", "system_contacts", "system_history",
    "system_links", "systems_for_case", "systems_for_index", "timeline", "unlink_case", "unlink_contact",
    "unlink_item", "update_system",
]
