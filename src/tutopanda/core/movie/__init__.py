"""A movie as the user sees it: its definition, the editable document, edits, timeline, publishing.

Built on :mod:`tutopanda.core.store` and :mod:`tutopanda.core.blueprint`; knows nothing of planning
or running jobs.
"""
