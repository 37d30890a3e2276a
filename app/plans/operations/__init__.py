"""What can happen to a plan and its texts. Functions here change state and write the audit
entry; they flush but never commit (the caller's request or command commits once).

One module per reason to change: ``versions`` (plans, building a version, its life cycle),
``imports`` (a file's preview and confirmation), ``editing`` (a draft's paragraphs and
sections). The names the rest of the code uses are all here.
"""

from app.plans.operations.changes import mark_editorial
from app.plans.operations.editing import (
    SPLIT_MARK,
    ConflictError,
    add_paragraph,
    add_section,
    delete_paragraph,
    delete_section,
    merge_with_next,
    move_paragraph,
    move_section,
    split_paragraph,
    update_paragraph,
    update_section,
)
from app.plans.operations.imports import IMPORT_TTL, cancel_import, confirm_import, start_import
from app.plans.operations.versions import (
    SLUG,
    ParagraphSpec,
    SectionSpec,
    adopt_version,
    build_version,
    check_can_continue,
    create_plan,
    create_successor,
    freeze_version,
    lineage_kinds,
    update_plan,
)

__all__ = [
    "IMPORT_TTL",
    "SLUG",
    "SPLIT_MARK",
    "ConflictError",
    "ParagraphSpec",
    "SectionSpec",
    "add_paragraph",
    "add_section",
    "adopt_version",
    "build_version",
    "cancel_import",
    "check_can_continue",
    "confirm_import",
    "create_plan",
    "create_successor",
    "delete_paragraph",
    "delete_section",
    "freeze_version",
    "lineage_kinds",
    "mark_editorial",
    "merge_with_next",
    "move_paragraph",
    "move_section",
    "split_paragraph",
    "start_import",
    "update_paragraph",
    "update_plan",
    "update_section",
]
