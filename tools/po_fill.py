"""Fill empty msgstr entries of the Vietnamese catalogue from a Python dict file.

    python tools/po_fill.py translations.py   # a file defining T = {msgid: msgstr}
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

PO = "portal/translations/vi/LC_MESSAGES/messages.po"


def main(path):
    table = runpy.run_path(path)["T"]
    with open(PO, "rb") as fh:
        catalog = read_po(fh)
    filled = 0
    for message in catalog:
        if message.id and not message.string and message.id in table:
            message.string = table[message.id]
            filled += 1
    with open(PO, "wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True, width=100)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"filled {filled}; still untranslated: {len(missing)}")
    for m in missing:
        print("  ", repr(m))


if __name__ == "__main__":
    main(sys.argv[1])
