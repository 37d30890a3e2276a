"""The outbox page for administrators: what is pending, sent and failed, and re-queueing."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.pagination import paginate
from app.core.permissions import require
from app.core.refusals import commit_or_refuse
from app.extensions import db
from app.notifications import queries
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.operations import requeue
from app.notifications.permissions import can_manage_outbox

bp = Blueprint("admin_outbox", __name__, url_prefix="/admin/outbox")

PAGE_SIZE = 50


@bp.get("/")
@require(can_manage_outbox)
def list_messages():
    status = request.args.get("status", OutboxStatus.PENDING.value)
    if status not in {s.value for s in OutboxStatus}:
        abort(404)
    page = paginate(queries.messages(OutboxStatus(status)), per_page=PAGE_SIZE)
    return render_template(
        "notifications/outbox.html",
        page=page,
        status=status,
        statuses=list(OutboxStatus),
        counts=queries.status_counts(),
    )


@bp.post("/<int:message_id>/requeue")
@require(can_manage_outbox)
def requeue_message(message_id: int):
    message = db.get_or_404(OutboxMessage, message_id)
    if message.status != OutboxStatus.FAILED:
        flash(_("Only failed messages can be sent again."), "danger")
    else:
        with commit_or_refuse():
            requeue(db.session, message, actor=current_user)
        flash(_("The message will be sent again."), "success")
    return redirect(url_for("admin_outbox.list_messages", status=OutboxStatus.FAILED.value))
