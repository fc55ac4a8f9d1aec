"""Scenarios shipped inside the ``scenarios`` package, found through
:mod:`importlib.resources` so an installed rcsim finds them too."""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

import yaml

from simulator.scenario.errors import ScenarioError, did_you_mean

SUFFIXES = (".yaml", ".yml")

MAX_BYTES = 1 << 20
"""The largest scenario file accepted (1 MiB): far beyond any real one."""


def _files() -> dict[str, resources.abc.Traversable]:
    root = resources.files("scenarios")
    found = {
        entry.name.rsplit(".", 1)[0]: entry
        for entry in root.iterdir()
        if entry.is_file() and entry.name.endswith(SUFFIXES)
    }
    return dict(sorted(found.items()))


def bundled_names() -> list[str]:
    return list(_files())


def _description(text: str) -> str:
    """The first line of the ``description`` (or the ``name``), without validating."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return "(invalid YAML)"
    if not isinstance(data, dict):
        return "(not a scenario)"
    for key in ("description", "name"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().splitlines()[0]
    return ""


def list_bundled() -> list[tuple[str, str]]:
    """``(name, first line of its description)`` for every bundled scenario, by name."""
    return [(name, _description(entry.read_text("utf-8"))) for name, entry in _files().items()]


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a BOM is allowed) or a ScenarioError naming where it is not."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        col = nul - (data[:nul].rfind(b"\n") + 1) + 1
        raise ScenarioError(
            [f"{source}:{line}:{col}: binary file (a NUL byte), expected YAML text"]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = error.start
        line = data[:start].count(b"\n") + 1
        col = len(data[data[:start].rfind(b"\n") + 1 : start].decode("utf-8", "replace")) + 1
        raise ScenarioError(
            [
                f"{source}:{line}:{col}: not UTF-8 text (byte 0x{data[start]:02x}); "
                "save the file as UTF-8"
            ]
        ) from None


def _read_limited(data: bytes, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise ScenarioError([f"{source}:1:1: file larger than {MAX_BYTES // 1024} KiB"])
    return decode(data, source)


def resolve(path_or_name: str) -> tuple[str, str, str]:
    """``(display name, text, sha256 of the bytes)`` of a file path or a bundled name.

    An existing path wins; otherwise ``NAME`` or ``NAME.yaml`` is looked up among the
    bundled scenarios (display name ``scenarios/NAME.yaml``).
    """
    path = Path(path_or_name)
    try:
        if path.is_dir():
            raise ScenarioError([f"{path_or_name}: is a directory, expected a scenario file"])
        if path.exists():
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
            return path_or_name, _read_limited(data, path_or_name), hashlib.sha256(data).hexdigest()
    except OSError as error:
        raise ScenarioError([f"{path_or_name}: cannot read: {error.strerror or error}"]) from None
    except ValueError:  # e.g. an embedded NUL in the name
        raise ScenarioError([f"{path_or_name!r}: not a valid file name"]) from None
    name = path_or_name
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    files = _files()
    if os.sep not in name and "/" not in name and name in files:
        data = files[name].read_bytes()
        source = f"scenarios/{files[name].name}"
        return source, _read_limited(data, source), hashlib.sha256(data).hexdigest()
    hint = did_you_mean(name, list(files))
    listing = hint or (f" (bundled: {', '.join(files)})" if files else "")
    raise ScenarioError([f"{path_or_name}: no such file or bundled scenario{listing}"])
