"""The Russian catalogues are complete and the committed .mo matches its .po (no build step)."""

from __future__ import annotations

import ast
import re

from django.utils import translation

from tests.support.server import ROOT

LOCALE = ROOT / "ui" / "locale" / "ru" / "LC_MESSAGES" / "django.po"
JS = ROOT / "ui" / "static" / "js"


def _po_entries() -> dict[str, str]:
    """Singular entries of the .po file: msgid -> msgstr (multi-line strings joined)."""
    entries: dict[str, str] = {}
    for block in LOCALE.read_text(encoding="utf-8").split("\n\n"):
        if "msgid_plural" in block:
            continue
        match = re.search(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', block + "\n", re.M)
        if not match:
            continue
        msgid, msgstr = (
            "".join(ast.literal_eval(line) for line in part.split("\n") if line)
            for part in match.groups()
        )
        if msgid:
            entries[msgid] = msgstr
    return entries


def test_every_template_string_is_translated_and_compiled():
    entries = _po_entries()
    assert len(entries) > 40
    with translation.override("ru"):
        for msgid, msgstr in entries.items():
            assert msgstr, f"untranslated: {msgid!r}"
            # A stale django.mo (edited .po, not compiled) fails here.
            assert translation.gettext(msgid) == msgstr, msgid


def test_every_script_string_has_a_russian_entry():
    source = "\n".join(path.read_text(encoding="utf-8") for path in JS.glob("*.js"))
    catalogue_text = (JS / "i18n.js").read_text(encoding="utf-8")
    used = set(re.findall(r'\btn?\("((?:[^"\\]|\\.)+)"', source))
    # Error messages are looked up through a table of codes.
    used |= set(re.findall(r'^\s+\w+: "([^"]+)",$', source, re.M))
    missing = [key for key in used if f'"{key}":' not in catalogue_text]
    assert used and not missing, missing
