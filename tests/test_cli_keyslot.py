"""``rcsim keyslot`` (rcsim/commands/keyslot.py) and the CLI entry points."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rcsim.cli import main
from rcsim.commands import keyslot
from simulator import __version__
from simulator.slots import key_hash_slot

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
BINARY = b"bin\xff\x00"


class _Stdin:
    """Stands in for ``sys.stdin`` with a binary ``buffer``, as the command reads it."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def run_cli(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch | None = None,
    stdin: bytes | None = None,
) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", _Stdin(stdin))
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_one_line_per_key_with_slot_and_tag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["keyslot", "foo", "{user1000}.following", "foo{}{bar}"], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "foo 12182",
        "{user1000}.following 3443 tag=user1000",
        "foo{}{bar} 8363",  # an empty tag is no tag (§3.1)
    ]


def test_keys_needing_quotes_are_shown_like_redis_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["keyslot", "a b", "", "{x y}z", '"q'], capsys)
    assert code == 0
    assert out.splitlines() == [
        f'"a b" {key_hash_slot("a b")}',
        '"" 0',
        f'"{{x y}}z" {key_hash_slot("x y")} tag="x y"',
        f'"\\"q" {key_hash_slot(chr(34) + "q")}',
    ]


def test_stdin_reads_one_key_per_line_keeping_bytes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"foo\n\n{a}b\r\nbin\xff\x00\nlast-without-newline"
    code, out, err = run_cli(["keyslot", "--stdin"], capsys, monkeypatch, data)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "foo 12182",
        '"" 0',  # an empty line is the empty key
        '"{a}b\\r" 15495 tag=a',  # only "\n" is stripped; "\r" stays part of the key
        '"bin\\xff\\x00" ' + str(key_hash_slot(BINARY)),
        f"last-without-newline {key_hash_slot('last-without-newline')}",
    ]


def test_stdin_agrees_with_every_real_redis_vector(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    vectors = json.loads((DATA / "keyslot-vectors.json").read_text())
    hex_lines = "\n".join(v["key_hex"] for v in vectors).encode() + b"\n"
    code, out, _ = run_cli(
        ["keyslot", "--stdin", "--hex", "--json"], capsys, monkeypatch, hex_lines
    )
    assert code == 0
    records = json.loads(out)
    assert [r["slot"] for r in records] == [v["slot"] for v in vectors]
    for record, vector in zip(records, vectors, strict=True):
        assert record["key"] == vector["key"]
        assert record.get("key_hex", vector["key_hex"]) == vector["key_hex"]
        assert ("key_hex" in record) == (vector["key"] is None)


def test_json_output_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["keyslot", "--json", "foo", "{user1000}.x"], capsys)
    assert code == 0
    assert json.loads(out) == [
        {"key": "foo", "slot": 12182, "tag": None},
        {"key": "{user1000}.x", "slot": 3443, "tag": "user1000"},
    ]


def test_json_binary_key_and_tag_carry_hex(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["keyslot", "--json", "--hex", "7bfffe7d78", "00"], capsys)
    assert code == 0
    records: list[dict[str, Any]] = json.loads(out)
    assert records[0] == {
        "key": None,
        "key_hex": "7bfffe7d78",
        "slot": records[0]["slot"],
        "tag": None,
        "tag_hex": "fffe",
    }
    assert records[1] == {"key": None, "key_hex": "00", "slot": 0, "tag": None}


def test_hex_arguments_are_decoded_to_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["keyslot", "--hex", "666f6f", "7B75736572313030307D2E78"], capsys)
    assert code == 0
    assert out.splitlines() == ["foo 12182", "{user1000}.x 3443 tag=user1000"]


@pytest.mark.parametrize("bad", ["zz", "abc", "66 6f"])
def test_bad_hex_is_one_clear_error_exit_2(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["keyslot", "--hex", "666f6f", bad], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("rcsim keyslot: KEY argument 2 is not hex (--hex): ")
    assert "Traceback" not in err


def test_bad_hex_on_stdin_names_the_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(["keyslot", "--stdin", "--hex"], capsys, monkeypatch, b"00\nxyz\n")
    assert code == 2
    assert err == (
        "rcsim keyslot: stdin line 2 is not hex (--hex): 'xyz'"
        " (expected an even number of 0-9a-f digits)\n"
    )


def test_no_keys_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["keyslot"], capsys)
    assert (code, out) == (2, "")
    assert err == "rcsim keyslot: no keys: give one or more KEY arguments, or --stdin\n"


def test_keys_and_stdin_together_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(["keyslot", "--stdin", "foo"], capsys, monkeypatch, b"bar\n")
    assert code == 2
    assert "not both" in err


def test_empty_stdin_prints_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(["keyslot", "--stdin"], capsys, monkeypatch, b"") == (0, "", "")
    assert run_cli(["keyslot", "--stdin", "--json"], capsys, monkeypatch, b"") == (0, "[]\n", "")


def test_bad_flag_exits_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["keyslot", "--no-such-flag", "foo"], capsys)
    assert (code, out) == (2, "")
    assert "unrecognized arguments: --no-such-flag" in err
    assert "Traceback" not in err


def test_demo_prints_the_tagged_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert keyslot.demo() == 0
    assert capsys.readouterr().out.splitlines() == [
        "foo 12182",
        "{user1000}.following 3443 tag=user1000",
        "{user1000}.followers 3443 tag=user1000",
    ]


def test_python_m_rcsim_version_and_help_in_a_subprocess() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "rcsim", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert (version.returncode, version.stdout.strip()) == (0, f"rcsim {__version__}")
    help_ = subprocess.run(
        [str(Path(sys.executable).parent / "rcsim"), "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert help_.returncode == 0
    assert "keyslot" in help_.stdout and help_.stderr == ""
    bad = subprocess.run(
        [sys.executable, "-m", "rcsim", "keyslot", "--bogus"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
