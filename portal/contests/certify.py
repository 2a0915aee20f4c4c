"""Certificates from contest results: who receives a giấy khen (or a giấy chứng nhận), and issuing them.

Only published results are certified. Every award that still holds a prize
(a withdrawn one has no tier) gives one recipient: a person, named as their
account reads at issue time, with the unit they took the round from; or a
unit, for a collective prize. Optionally every contestant of a round (or of
the contest) also gets a certificate of participation. Issuing goes through
``certificates.issue.issue_many`` with the contest's design; each recipient
names its source (the award, or the contestant's entry), so issuing the same
results again skips what is already issued.
"""

import dataclasses

import peewee as pw
from flask_babel import gettext as _
from flask_babel import to_user_timezone

from ..accounts.models import Unit, User
from ..certificates import issue
from ..certificates.models import Certificate, Design
from ..db import database
from ..errors import DomainError
from .models import Award, Contest, ContestEntry, PrizeTier, Registration, Round, RoundEntry

CONTEST_WIDE = "chung cuộc"  # {vong} of a contest-wide prize: "đạt Giải Nhất chung cuộc"


# -- sources: what each certificate was issued for --------------------------------------------------

def round_prefix(round_):
    return f"contest:{round_.contest_id}/round:{round_.id}/"


def award_source(award):
    if award.round_id is not None:
        return f"contest:{award.contest_id}/round:{award.round_id}/award:{award.id}"
    return f"contest:{award.contest_id}/award:{award.id}"


def _contest_sources(contest):
    """The contest-wide certificates' sources (the rounds' have "/round:" after the contest)."""
    base = f"contest:{contest.id}/"
    return Certificate.source.startswith(base + "award:") | Certificate.source.startswith(base + "entry:")


def valid_certificates(contest, round_=None):
    """The valid certificates issued from a round's (or the contest-wide) results, in issue order."""
    where = (Certificate.source.startswith(round_prefix(round_)) if round_ is not None
             else _contest_sources(contest))
    return Certificate.select().where(where, Certificate.status == "valid").order_by(Certificate.id)


# -- recipients ----------------------------------------------------------------------------------

def _require_published(contest, round_):
    if round_ is not None and round_.published_at is None:
        raise DomainError(_("The results of round %(n)s are not published yet: certificates are issued from "
                            "published results only.", n=round_.number))
    if round_ is None and contest.results_published_at is None:
        raise DomainError(_("The contest's results are not published yet: certificates are issued from "
                            "published results only."))


def _year(published_at):
    return to_user_timezone(published_at).year


def _round_title(round_):
    return round_.quiz.title  # "Tuần 1", "Vòng 1 (tuần 1)": what contestants know the round by


def _units(unit_ids):
    """{unit id: (the Unit, its parent's name or "")}, in two queries."""
    unit_ids = {i for i in unit_ids if i is not None}
    if not unit_ids:
        return {}
    units = list(Unit.select().where(Unit.id.in_(unit_ids)))
    parent_ids = {u.parent_id for u in units if u.parent_id is not None}
    parents = dict(Unit.select(Unit.id, Unit.name).where(Unit.id.in_(parent_ids)).tuples()) if parent_ids else {}
    return {u.id: (u, parents.get(u.parent_id, "")) for u in units}


def _person_line(units, unit_id, other_unit=""):
    """ "Chi bộ thôn Đông Lâm, Đảng bộ xã Hòa Ninh": the unit and the unit above; a visitor's own wording."""
    if unit_id in units:
        unit, parent = units[unit_id]
        return f"{unit.name}, {parent}" if parent else unit.name
    return other_unit or ""


def _common(contest, round_, published_at):
    return {"hoi_thi": contest.title, "nam": str(_year(published_at)), "contest": contest.title,
            "vong": _round_title(round_) if round_ is not None else CONTEST_WIDE,
            "round": _round_title(round_) if round_ is not None else ""}


def _people(contest, round_, user_ids=None):
    """{user id: (User, unit line)} for the contestants (all, or ``user_ids``), in rank order.

    The unit is the entry's: where the round was taken from, not where the person is today.
    """
    entry = RoundEntry if round_ is not None else ContestEntry
    scope = (RoundEntry.round == round_.id) if round_ is not None else (ContestEntry.contest == contest.id)
    if user_ids is not None:
        if not user_ids:
            return {}
        scope &= entry.user.in_(sorted(user_ids))
    reg = Registration.alias("reg")
    rows = list(User.select(User, entry.unit.alias("entry_unit"), reg.other_unit.alias("other_unit"))
                .join(entry, on=(entry.user == User.id))
                .switch(User).join(reg, pw.JOIN.LEFT_OUTER, on=((reg.user == User.id) & (reg.contest == contest.id)))
                .where(scope).order_by(entry.rank, User.full_name, User.id).objects())
    units = _units(u.entry_unit for u in rows)
    return {u.id: (u, _person_line(units, u.entry_unit, u.other_unit)) for u in rows}


def _award_recipients(contest, round_, published_at):
    scope = (Award.round == round_.id) if round_ is not None else Award.round.is_null()
    awards = list(Award.select(Award, PrizeTier).join(PrizeTier)  # the inner join leaves out withdrawn prizes
                  .where(Award.contest == contest.id, scope)
                  .order_by(PrizeTier.collective, PrizeTier.position, PrizeTier.id, Award.rank, Award.id))
    people = _people(contest, round_, {a.user_id for a in awards if a.user_id is not None})
    units = _units(a.unit_id for a in awards if a.user_id is None)
    common = _common(contest, round_, published_at)
    out = []
    for award in awards:
        if award.user_id is not None and award.user_id in people:
            user, line = people[award.user_id]
            unit, name, don_vi = None, user.full_name, line
        elif award.user_id is None and award.unit_id in units:
            unit, line = units[award.unit_id]
            user, name, don_vi = None, unit.name, unit.name
        else:
            continue
        values = dict(common, ho_ten=name, don_vi=don_vi, giai=award.tier.name, prize=award.tier.name)
        out.append(issue.Recipient(kind="merit", source=award_source(award), user=user, unit=unit, name=name,
                                   unit_line=line, values=values))
    return out


def _participation(contest, round_, published_at):
    """A certificate of participation for every contestant of the round (or of the contest)."""
    prefix = round_prefix(round_) if round_ is not None else f"contest:{contest.id}/"
    common = _common(contest, round_, published_at)
    out = []
    for user_id, (user, line) in _people(contest, round_).items():
        values = dict(common, ho_ten=user.full_name, don_vi=line, giai="", prize="")
        out.append(issue.Recipient(kind="participation", source=f"{prefix}entry:{user_id}", user=user, unit=None,
                                   name=user.full_name, unit_line=line, values=values))
    return out


def recipients_for_round(round_, include_participation=False):
    """One recipient per prize of a published round (people, then units); then, if asked, every contestant."""
    contest = round_.contest
    _require_published(contest, round_)
    out = _award_recipients(contest, round_, round_.published_at)
    if include_participation:
        out += _participation(contest, round_, round_.published_at)
    return out


def recipients_for_contest(contest, include_participation=False):
    """One recipient per contest-wide prize of a contest whose results are published; then every contestant."""
    _require_published(contest, None)
    out = _award_recipients(contest, None, contest.results_published_at)
    if include_participation:
        out += _participation(contest, None, contest.results_published_at)
    return out


# -- issuing -------------------------------------------------------------------------------------

def design_of(contest):
    """The contest's certificate design; refused while the organiser has not set the texts."""
    if contest.certificate_design_id is None:
        raise DomainError(_("Set the texts of the certificates first (the contest's Certificates page)."))
    return contest.certificate_design


def _issue(actor, contest, recipients, what, now, public_url, address):
    design = design_of(contest)
    if not recipients:
        raise DomainError(_("%(what)s has no prizes to certify.", what=what))
    return issue.issue_many(actor, design, recipients, now, public_url, address=address)


def issue_for_round(actor, round_, now, public_url, include_participation=False, address=""):
    """Issue the certificates of a published round's prizes (and of its contestants, if asked): (issued, skipped)."""
    recipients = recipients_for_round(round_, include_participation)
    return _issue(actor, round_.contest, recipients, _("Round %(n)s", n=round_.number), now, public_url, address)


def issue_for_contest(actor, contest, now, public_url, include_participation=False, address=""):
    """Issue the certificates of the contest-wide prizes (and of every contestant, if asked): (issued, skipped)."""
    recipients = recipients_for_contest(contest, include_participation)
    return _issue(actor, contest, recipients, _("The whole contest"), now, public_url, address)


# -- the contest's design ------------------------------------------------------------------------

def default_design_values(contest):
    """What a contest's certificates say before the organiser changes anything: its owner unit's names."""
    owner = contest.owner_unit
    parent = owner.parent if owner.parent_id is not None else None
    return dict(issue.default_design_values(owner), name=contest.title,
                superior_body=parent.name.upper() if parent is not None else "", place="")


def design_values(contest):
    """The contest's design as save_design takes it (the defaults while it has none)."""
    if contest.certificate_design_id is None:
        return default_design_values(contest)
    return issue.design_values(contest.certificate_design)


def save_design(actor, contest, values, now, address=""):
    """Create or change the contest's design from ``values`` (see issue.save_design) and link it to the contest."""
    current = contest.certificate_design if contest.certificate_design_id is not None else None
    if current is None:
        values = dict(default_design_values(contest), **values)
    with database.atomic():
        design = issue.save_design(actor, current, values, contest.owner_unit, now, address=address)
        if contest.certificate_design_id != design.id:
            Contest.update(certificate_design=design.id).where(Contest.id == contest.id).execute()
            contest.certificate_design = design
    return design


def preview_values(contest):
    """The placeholders' values a preview of the contest's certificates shows: its title, its latest round."""
    round_ = (Round.select().where(Round.contest == contest.id)
              .order_by(Round.published_at.is_null(), Round.number.desc()).first())  # published ones first
    values = {"hoi_thi": contest.title}
    if round_ is not None:
        values["vong"] = _round_title(round_)
    return values


def preview(contest, values, kind, remove=()):
    """The snapshot of a sample certificate from unsaved texts ``values`` (the live preview); stores nothing.

    The images are the contest design's saved ones, less those named in ``remove`` ("border", "logo").
    """
    current = contest.certificate_design if contest.certificate_design_id is not None else None
    values = {k: v for k, v in values.items() if k not in ("border", "logo")}
    values["decision_date"] = issue.parse_date(values.get("decision_date"), "decision_date")
    for name in ("merit_achievement", "participation_achievement"):
        issue.fill(values.get(name), issue.SAMPLE, field=name)  # a bad placeholder in either wording is named
    images = {name: getattr(current, name) if current is not None and name not in remove else None
              for name in ("border", "logo")}
    design = Design(owner_unit=contest.owner_unit, **values, **images)
    return issue.snapshot_for_preview(design, kind, preview_values(contest))


def sample(contest, kind):
    """The snapshot of a sample certificate from the contest's saved design."""
    return issue.snapshot_for_preview(design_of(contest), kind, preview_values(contest))


# -- what the settings page shows ------------------------------------------------------------------

@dataclasses.dataclass
class Batch:
    """A round (or the contest as a whole, ``round`` None): its prizes and the certificates issued from it."""

    round: object
    prizes: int
    contestants: int
    issued: int  # valid certificates


def batches(contest):
    """The published rounds, then the contest as a whole once its results are published."""
    rounds = list(Round.select().where(Round.contest == contest.id, Round.published_at.is_null(False))
                  .order_by(Round.number))
    prizes = dict(Award.select(Award.round, pw.fn.COUNT(Award.id))
                  .where(Award.contest == contest.id, Award.tier.is_null(False))
                  .group_by(Award.round).tuples())
    contestants = dict(RoundEntry.select(RoundEntry.round, pw.fn.COUNT(RoundEntry.id))
                       .where(RoundEntry.round.in_([r.id for r in rounds]))
                       .group_by(RoundEntry.round).tuples()) if rounds else {}
    out = [Batch(r, prizes.get(r.id, 0), contestants.get(r.id, 0), valid_certificates(contest, r).count())
           for r in rounds]
    if contest.results_published_at is not None:
        out.append(Batch(None, prizes.get(None, 0),
                         ContestEntry.select().where(ContestEntry.contest == contest.id).count(),
                         valid_certificates(contest).count()))
    return out
