"""Static guards for the UI's safety rules: no HTML from strings, nothing inline for the CSP."""

from __future__ import annotations

import re

from tests.support.server import ROOT

UI = ROOT / "ui"


def test_scripts_never_build_html_from_strings():
    for path in (UI / "static" / "js").rglob("*.js"):
        source = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{path.name} uses {sink}"


def test_templates_have_no_inline_scripts_styles_or_handlers():
    """The CSP (script-src 'self'; style-src 'self') would block them anyway: keep it so.

    The launcher's own pages (templates/desktop/) are never served: pywebview loads them as
    one self-contained document (``html=``, no URL to fetch scripts or styles from), so their
    script and styles are inline by design; they are checked for external loads only.
    """
    for path in (UI / "templates").rglob("*.html"):
        markup = path.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", markup), path
        if path.parent.name == "desktop":
            continue
        assert not re.search(r"<script(?![^>]*\bsrc=)", markup), path
        assert "<style" not in markup, path
        assert not re.search(r"\sstyle=", markup), path
        assert not re.search(r"\son[a-z]+=", markup), path
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", markup), path
