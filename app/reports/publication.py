"""What concluding a round publishes, and who is told: the report, the response version's
"why it changed" and the exports become public (their predicates read the round's state), and
every author is e-mailed (outbox) the link to each of their observations' trace pages and to
the report.

One e-mail per author, whatever the number of their observations, in the transaction that
concludes the round: all of them are queued, or none if the conclusion is refused. Observations
recorded by staff from a PEC, a letter, an e-mail or a meeting are answered the way they came
(as for published decisions), withdrawn ones not at all.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.urls import absolute_url
from app.notifications.operations import queue_email
from app.observations.models import INTAKE_CHANNELS, Observation
from app.reports.queries import registered
from app.rounds.models import Round


def tell_authors(session: Session, round_: Round, actor=None) -> int:
    """Queue the conclusion e-mail for every author of the round; return how many."""
    observations = session.scalars(
        registered(round_)
        .where(Observation.channel.not_in(INTAKE_CHANNELS))
        .order_by(Observation.author_id, Observation.protocol_number)
    ).all()
    by_author: dict[int, list[Observation]] = {}
    for observation in observations:
        if observation.author.active:
            by_author.setdefault(observation.author_id, []).append(observation)
    report = absolute_url("reports.by_observation", round_id=round_.id)
    for mine in by_author.values():
        author = mine[0].author
        queue_email(
            session,
            to=author.email,
            template="reports/email/concluded",
            context={
                "name": author.display_name,
                "round": round_,
                "report": report,
                "observations": [
                    (o, absolute_url("decisions.trace", observation_id=o.id)) for o in mine
                ],
            },
            locale=author.locale,
        )
    record(session, "round.authors_told", actor=actor, obj=round_, authors=len(by_author))
    return len(by_author)
