"""What a person typed into the search box, taken apart: words, phrases and filters.

``from:alice`` and ``in:room`` (``in:"Отдел продаж"`` for names with spaces) filter; every
other word must occur, the last one as a word or the start of one (``отч`` finds "Отчёт":
it is the word being typed); a quoted phrase must occur as written. Nothing the person
types reaches a search engine's own query syntax: each engine's query is built here from
these parts, every word quoted, so FTS5's ``AND``/``NEAR``/``*``/``^`` and tsquery's
``&|!:`` are just text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatserver.chat.protocol import ProtocolError

MAX_QUERY_CHARS = 256
MAX_TERMS = 12

_TOKEN = re.compile(r'(?:(?P<key>from|in):)?(?:"(?P<quoted>[^"]*)"?|(?P<word>\S+))', re.IGNORECASE)
WORD = re.compile(r"[^\W_]+")  # letters and digits: what the 'simple' parser keeps


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool  # quoted: matched as written, no prefix


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[Term, ...]
    sender: str | None = None  # from:
    room: str | None = None  # in:


def parse_query(q: str, ref: str | None) -> SearchQuery:
    """The parts of ``q``, or a ``bad_query`` error that says what is wrong with it."""
    if len(q) > MAX_QUERY_CHARS:
        raise ProtocolError(
            "bad_query", f"Searches are limited to {MAX_QUERY_CHARS} characters.", ref
        )
    terms: list[Term] = []
    sender = room = None
    for match in _TOKEN.finditer(q):
        key, quoted, word = match["key"], match["quoted"], match["word"]
        value = quoted if quoted is not None else word
        if key is not None and value:
            if key.lower() == "from":
                sender = value.lstrip("@")
            else:
                room = value.lstrip("#")
            continue
        if value and any(char.isalnum() for char in value):
            terms.append(Term(" ".join(value.split()), phrase=quoted is not None))
    if len(terms) > MAX_TERMS:
        raise ProtocolError("bad_query", f"Search for at most {MAX_TERMS} words at a time.", ref)
    if not terms and sender is None and room is None:
        raise ProtocolError("bad_query", "Type a word to search for.", ref)
    return SearchQuery(tuple(terms), sender=sender or None, room=room or None)


# A last word shorter than this matches whole: one letter starts a large part of every
# language's words, and asking for all of them cost 71 ms p50 / 114 ms max over a million
# messages on SQLite (docs/benchmarks.md, "Search and export"), for results nobody can use.
MIN_PREFIX_CHARS = 2


def prefixed_terms(terms: tuple[Term, ...]) -> list[bool]:
    """Which terms match the start of a word: the last one (the word still being typed),
    unless quoted or shorter than ``MIN_PREFIX_CHARS``. Earlier words match whole: a prefix
    makes FTS5 merge the whole posting list of every word it starts (60 ms for a word in half
    of a million messages, against 0.1 ms for the word itself; docs/benchmarks.md)."""
    last = len(terms) - 1
    return [
        index == last and not term.phrase and len(term.text) >= MIN_PREFIX_CHARS
        for index, term in enumerate(terms)
    ]


def fts5_match(terms: tuple[Term, ...], words_of_prefix: list[str] | None = None) -> str:
    """An FTS5 query on the ``body`` column: every term a quoted string (``"`` doubled);
    see ``prefixed_terms``. ``words_of_prefix``, when given, are the indexed words the
    prefixed term starts: asked as ``("w1" OR "w2")``, which FTS5 walks newest first like
    any word, where ``"w"*`` first merges all their matches."""
    parts = []
    for term, prefixed in zip(terms, prefixed_terms(terms), strict=True):
        quoted = _fts5_string(term.text)
        if prefixed and words_of_prefix is not None:
            parts.append("(" + " OR ".join(map(_fts5_string, words_of_prefix)) + ")")
        else:
            parts.append(quoted + "*" if prefixed else quoted)
    return "body : (" + " AND ".join(parts) + ")"


def _fts5_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# Letters whose folding by FTS5's unicode61 tokenizer is Python's ``lower()``: for these,
# the indexed words a typed prefix starts can be looked up in the index's own term list.
FOLDS_LIKE_LOWER = frozenset(
    "abcdefghijklmnopqrstuvwxyz0123456789абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
)


def plain_prefix(terms: tuple[Term, ...]) -> str | None:
    """The prefixed term as FTS5 indexes it, when it is one word of letters from
    ``FOLDS_LIKE_LOWER``; else None (FTS5 is then asked ``"w"*`` and folds it itself)."""
    flags = prefixed_terms(terms)
    if not terms or not flags[-1]:
        return None
    folded = terms[-1].text.lower()
    if folded and all(char in FOLDS_LIKE_LOWER for char in folded):
        return folded
    return None


def tsquery(terms: tuple[Term, ...]) -> str:
    """A ``to_tsquery('simple', ...)`` string: each word quoted; a term's words follow each
    other (``<->``), the prefixed term's last word ends in ``:*``, terms are ANDed."""
    parts = []
    for term, prefixed in zip(terms, prefixed_terms(terms), strict=True):
        words = [word.replace("'", "''").replace("\\", "\\\\") for word in WORD.findall(term.text)]
        if not words:
            continue
        lexemes = [f"'{word}'" for word in words]
        if prefixed:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)
