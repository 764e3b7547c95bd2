"""The relevance model learned from the coordinator's decisions, applied to the knowledge base.

- `records`: the storage of the labels (items a person accepted or rejected), of the trained models
  (`relevance_models`) and of each item's judgement (model score, the words behind it, who judged).
- `training`: gathering labels, training and cross-validating (`kb.text.relevance` holds the model and
  the verdict rule), retraining in the background once enough new decisions exist, and judging items at
  store time with the newest model.
- `retag`: re-tagging and re-judging stored items with the current taxonomy and model (never an item a
  person decided), the preview of a taxonomy edit, and the shares of items judged by terms, by the model
  or left to a reader, per language (for the dashboard).
- `taxonomies`: the lab's edited taxonomy (versions in the database, term checks, preview, export and
  import) and the background re-tag once a version changes.
- `background`: the scheduler's background jobs (training, re-tagging), one thread of each at a time.

Only decisions a person made are labels: an item nobody decided never reaches training.
"""
