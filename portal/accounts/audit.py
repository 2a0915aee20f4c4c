"""The audit log of admin and organiser actions."""

import json

from .models import AuditLog, User


def record(actor, action, target="", details=None, address=""):
    """Append one entry; ``actor`` is a User or None (the command line)."""
    return AuditLog.create(
        actor=actor,
        actor_name=actor.full_name if actor is not None else "portal (CLI)",
        address=address or "",
        action=action,
        target=str(target)[:255],
        details=json.dumps(details, ensure_ascii=False, default=str) if details else "",
    )


def entries(action=None, actor_id=None):
    query = AuditLog.select().order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action == action)
    if actor_id:
        query = query.where(AuditLog.actor == actor_id)
    return query


def actions():
    return [r.action for r in AuditLog.select(AuditLog.action).distinct().order_by(AuditLog.action)]


def actors():
    """The accounts that appear as actors in the log, by name."""
    return list(User.select(User.id, User.full_name, User.username)
                .where(User.id.in_(AuditLog.select(AuditLog.actor).where(AuditLog.actor.is_null(False))))
                .order_by(User.full_name))
