"""The credentials sheet: new accounts and their initial passwords, as PDF and XLSX.

A roster import writes the sheet to ``<root>/<RosterImport.credentials_key>/``
(root is instance/credentials). Only the importer or an admin may download it,
for LIFETIME; then it is gone and the way forward is a password reset. The
document template (documents/credentials.html) receives primitives only.
"""

import datetime as dt
import os
import re
import secrets
import shutil

from flask import render_template
from flask_babel import gettext as _
from flask_babel import to_user_timezone

from .. import documents
from ..db import database
from . import audit
from .models import RosterImport, Unit

LIFETIME = dt.timedelta(days=7)
FILENAMES = {"pdf": "credentials.pdf", "xlsx": "credentials.xlsx"}
MIMETYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_KEY_RE = re.compile(r"^[0-9a-f]{32}$")


def root(instance_path):
    return os.path.join(instance_path, "credentials")


def new_key():
    return secrets.token_hex(16)


def folder(root, key):
    if not _KEY_RE.match(key or ""):
        raise ValueError(f"not a credentials key: {key!r}")
    return os.path.join(root, key)


def title():
    return _("LIST OF LOGIN ACCOUNTS FOR THE STUDY PORTAL")


def sheet_data(accounts, organisation, public_url, now):
    """The primitives of a sheet. ``accounts``: dicts with full_name, unit, unit_id, username, password.

    Rows are grouped by unit, in the order of the organisation tree; within a
    unit they keep the order of the imported file.
    """
    position = {u.id: i for i, u in enumerate(Unit.in_tree_order())}
    ordered = sorted(accounts, key=lambda a: (position.get(a.get("unit_id"), len(position)), a["unit"]))
    local = to_user_timezone(now)
    return {
        "organisation": organisation,
        "title": title(),
        "date": local.strftime("%d/%m/%Y"),
        "public_url": public_url,
        "rows": [{"no": i, "full_name": a["full_name"], "unit": a["unit"], "username": a["username"],
                  "password": a["password"]} for i, a in enumerate(ordered, start=1)],
        "notes": notes(),
    }


def render_pdf(data):
    html = render_template("accounts/credentials_sheet.html", **data)
    return documents.render_pdf(html)


def render_xlsx(data):
    headers = [_("No."), _("Full name"), _("Unit"), _("Username"), _("Initial password"), _("Signature")]
    sheet = documents.Sheet(
        title=_("Accounts"),
        preamble=[data["organisation"].upper(), data["title"],
                  _("Date: %(date)s", date=data["date"]),
                  _("Log in at: %(url)s", url=data["public_url"])],
        headers=headers,
        rows=[[r["no"], r["full_name"], r["unit"], r["username"], r["password"], ""] for r in data["rows"]],
        widths=[6, 28, 36, 18, 18, 16],
        footer=data["notes"],
        text_columns=[3, 4],
        autofilter=False,
    )
    return documents.xlsx_bytes([sheet], title=data["title"], author=data["organisation"])


def notes():
    return [
        _("The initial password works once: at the first login the portal asks each member to choose "
          "their own password."),
        _("CONFIDENTIAL: keep this list safe, hand each member only their own line, and destroy it "
          "once every member has logged in."),
    ]


_RENDERERS = {"pdf": render_pdf, "xlsx": render_xlsx}


def write(target, data, formats=("pdf", "xlsx")):
    """Write the sheet in ``formats`` into the folder ``target``; return {format: path}."""
    os.makedirs(target, mode=0o700, exist_ok=True)
    paths = {}
    for fmt in formats:
        content = _RENDERERS[fmt](data)
        path = os.path.join(target, FILENAMES[fmt])
        tmp = path + ".part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
        paths[fmt] = path
    return paths


def remove_folder(target):
    shutil.rmtree(target, ignore_errors=True)


def is_available(roster_import, now):
    return bool(roster_import.credentials_key) and (
        roster_import.credentials_expire_at is not None and roster_import.credentials_expire_at > now)


def file_path(sheets_root, roster_import, fmt, now):
    """The path of the sheet in ``fmt``, or None when it is expired, deleted or missing."""
    if fmt not in FILENAMES or not is_available(roster_import, now) or not _KEY_RE.match(roster_import.credentials_key):
        return None
    path = os.path.join(folder(sheets_root, roster_import.credentials_key), FILENAMES[fmt])
    return path if os.path.isfile(path) else None


def available_formats(sheets_root, roster_import, now):
    return [fmt for fmt in FILENAMES if file_path(sheets_root, roster_import, fmt, now)]


def download_name(roster_import, fmt):
    return f"tai-khoan-{roster_import.at:%Y%m%d}-{roster_import.id}.{fmt}"


def delete(actor, roster_import, sheets_root, address=""):
    """Delete the sheet now (it holds passwords); the import itself stays recorded."""
    key = roster_import.credentials_key
    with database.atomic():
        roster_import.credentials_key = ""
        roster_import.credentials_expire_at = None
        roster_import.save(only=[RosterImport.credentials_key, RosterImport.credentials_expire_at])
        audit.record(actor, "roster.credentials_delete",
                     f"roster_import:{roster_import.id} {roster_import.filename}", None, address)
    if _KEY_RE.match(key or ""):
        remove_folder(folder(sheets_root, key))


def purge_expired(sheets_root, now):
    """Delete the sheets past their lifetime; return how many."""
    expired = list(RosterImport.select().where(RosterImport.credentials_key != "",
                                               RosterImport.credentials_expire_at <= now))
    for roster_import in expired:
        if _KEY_RE.match(roster_import.credentials_key):
            remove_folder(folder(sheets_root, roster_import.credentials_key))
        RosterImport.update(credentials_key="", credentials_expire_at=None).where(
            RosterImport.id == roster_import.id).execute()
    return len(expired)
