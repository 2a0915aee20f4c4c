"""Everything the interface says must exist in Vietnamese."""

from pathlib import Path

from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "portal/translations/vi/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("portal/**.py", "python"), ("portal/templates/**.html", "jinja2")]


def _msgids():
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"portal/templates/**.html": {}},
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, filename)
    return found


def test_every_message_has_a_vietnamese_translation():
    with open(PO, "rb") as fh:
        catalog = read_po(fh)
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in _msgids().items()
                     if not (catalog.get(msgid) and catalog.get(msgid).string))
    assert not missing, "untranslated (add them to messages.po):\n" + "\n".join(missing)


def test_translations_keep_their_placeholders():
    with open(PO, "rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if message.id and message.string:
            python_format(catalog, message)  # raises TranslationError on a mismatch
