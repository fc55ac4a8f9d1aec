"""stringmatchlen and the per-node subscription registry (§19, src/pubsub.c)."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.dataplane.pubsub import PubSubRegistry, Push, stringmatchlen
from simulator.slots import key_hash_slot

# (pattern, string, match) — each answer checked against src/util.c of 7.0.15 compiled
# on this machine (300 000 random byte patterns also agreed; see docs/data-plane.md).
VECTORS = [
    ("*", "", False),  # '*' never matches the empty string
    ("", "", True),
    ("", "a", False),
    ("*", "a", True),
    ("a*", "a", True),
    ("**", "abc", True),
    ("h?llo", "hello", True),
    ("h?llo", "hllo", False),
    ("?", "", False),
    ("a?", "a", False),
    ("h*llo", "heeeello", True),
    ("h[ae]llo", "hallo", True),
    ("h[ae]llo", "hillo", False),
    ("h[^e]llo", "hallo", True),
    ("h[^e]llo", "hello", False),
    ("h[a-b]llo", "hbllo", True),
    ("h[b-a]llo", "hallo", True),  # reversed range is swapped
    ("h[a-c-e]llo", "hdllo", False),
    ("[", "a", False),  # unclosed '[' with an empty set
    ("[a", "a", True),  # unclosed '[' matches the set read so far
    ("[a", "b", False),
    ("[ab", "ab", False),  # ...and consumes one byte only
    ("[^", "x", True),
    ("[^", "", False),
    ("a\\", "a\\", True),  # trailing backslash is literal
    ("a\\", "a", False),
    ("\\", "\\", True),
    ("\\*", "*", True),
    ("\\*", "a", False),
    ("[\\]]", "]", True),
    ("[\\]a]", "a", True),
    ("[]]", "]", False),  # ']' right after '[' closes an empty set
    ("[]a]", "a", False),
    ("[^]a]", "b", False),
    ("[a-]", "-", False),
    ("[-a]", "-", True),
    ("[\\", "\\", True),
    ("[a-\\", "b", False),
    ("[[]", "[", True),
    ("[*]", "*", True),
    ("[?]", "x", False),
    ("*[", "x[", False),
    ("*a", "a", True),
    ("a*", "ab", True),
    ("news.*", "news.art", True),
    ("news.*", "news", False),
    ("*.*", "a.b", True),
    ("a*b*c", "axbxc", True),
    ("a*b*c", "axbx", False),
]


@pytest.mark.parametrize(("pattern", "string", "expected"), VECTORS)
def test_stringmatchlen_known_cases(pattern: str, string: str, expected: bool) -> None:
    assert stringmatchlen(pattern, string) is expected


def test_stringmatchlen_nocase_and_signed_bytes() -> None:
    assert stringmatchlen("HELLO", "hello", nocase=True)
    assert stringmatchlen("h[A-C]llo", "hbllo", nocase=True)
    assert not stringmatchlen("HELLO", "hello")
    assert not stringmatchlen(b"\xe9", b"\xc9", nocase=True)  # only ASCII folds
    # ranges compare signed chars: 0x80 is -128, so [b-\x80] is [-128..'b'] and holds '?'
    assert stringmatchlen(b"[b-\x80]", b"?")
    assert not stringmatchlen(b"[b-\x80]", b"?", nocase=True)  # glibc tolower(-128) == 128


def test_stringmatchlen_pathological_pattern_is_fast_enough() -> None:
    """The 7.0 skip-longer-matches rule keeps '*a*a*a…' from going exponential."""
    assert not stringmatchlen("*a" * 30 + "b", "a" * 60)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="ab*?", max_size=8),
    st.text(alphabet="ab", max_size=8),
)
def test_stringmatchlen_agrees_with_fnmatch_without_sets(pattern: str, string: str) -> None:
    """Without '[' or '\\', Redis globbing is fnmatch's, except that '*' alone does
    not match an empty string (nothing does but the empty pattern)."""
    expected = fnmatch.fnmatchcase(string, pattern) and (string != "" or pattern == "")
    assert stringmatchlen(pattern, string) is expected


def test_publish_counts_local_receivers_channel_and_pattern_twice() -> None:
    reg = PubSubRegistry()
    assert reg.subscribe("c1", ["news"]) == [("subscribe", "news", 1)]
    assert reg.psubscribe("c1", ["n*"]) == [("psubscribe", "n*", 2)]
    reg.psubscribe("c2", ["n*", "*s"])
    published = reg.publish("news", "hi")
    assert published.receivers == 4
    assert published.pushes == (
        Push("c1", "message", ("news", "hi")),
        Push("c1", "pmessage", ("n*", "news", "hi")),
        Push("c2", "pmessage", ("n*", "news", "hi")),
        Push("c2", "pmessage", ("*s", "news", "hi")),
    )
    assert reg.publish("other", "x").receivers == 0
    assert reg.spublish("news", "x").receivers == 0  # shard pub/sub ignores patterns


def test_subscription_counts_are_separate_for_shard_channels() -> None:
    reg = PubSubRegistry()
    reg.subscribe("c", ["a", "a", "b"])
    assert reg.subscription_count("c") == 2
    assert reg.ssubscribe("c", ["{t}x"]) == [("ssubscribe", "{t}x", 1)]
    assert reg.unsubscribe("c") == [("unsubscribe", "a", 1), ("unsubscribe", "b", 0)]
    assert reg.unsubscribe("c") == [("unsubscribe", None, 0)]
    assert reg.numsub("a") == 0 and reg.shard_numsub("{t}x") == 1


def test_losing_a_slot_sunsubscribes_its_shard_channels() -> None:
    reg = PubSubRegistry()
    reg.ssubscribe("c1", ["{t}b", "{t}a", "{u}z"])
    reg.ssubscribe("c2", ["{t}a"])
    pushes = reg.drop_slot(key_hash_slot("{t}"))
    assert pushes == [
        Push("c1", "sunsubscribe", ("{t}a", 2)),
        Push("c2", "sunsubscribe", ("{t}a", 0)),
        Push("c1", "sunsubscribe", ("{t}b", 1)),
    ]
    assert reg.shard_channels() == ["{u}z"]
    assert reg.spublish("{t}a", "x").receivers == 0


def test_remove_client_drops_everything_silently() -> None:
    reg = PubSubRegistry()
    reg.subscribe("c", ["a"])
    reg.psubscribe("c", ["*"])
    reg.ssubscribe("c", ["s"])
    reg.remove_client("c")
    assert reg.channels() == [] and reg.numpat() == 0 and reg.shard_channels() == []
