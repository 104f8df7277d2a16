"""What counts as a mention in a body (chat/services/mentions.py)."""

from __future__ import annotations

import pytest

from chatserver.chat.services.mentions import mention_candidates


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("hi @bob", {"bob"}),
        ("@bob.", {"bob.", "bob"}),  # "bob." could be a username; "bob" at a sentence end
        ("ask @anna-maria, please", {"anna-maria"}),
        ("mail ann@example.org", set()),  # an address, not a mention
        ("@room lunch", {"room"}),
        ("@Отдел and @dev_ops", {"Отдел", "dev_ops"}),
        ("no at sign", set()),
        ("@ alone", set()),
    ],
)
def test_mention_candidates(body, names):
    assert mention_candidates(body) == names
