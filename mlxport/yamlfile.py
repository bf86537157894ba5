"""``yaml.safe_load`` that remembers where each mapping and key stood, for one-line errors, and
``overlay``, which merges such mappings and keeps those places."""

from __future__ import annotations

import re

import yaml


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """yaml.safe_load that remembers the line of every mapping and key, for error messages; the
    C parser (libyaml) where PyYAML has it, which reads the catalog in a fraction of the time."""


class _Located(dict):
    line = 0
    key_lines: dict = {}


def _located_mapping(loader: _LineLoader, node: yaml.MappingNode):
    seen = set()
    for key, _ in node.value:  # YAML keeps the last of two equal keys; a case file never means that
        name = getattr(key, "value", None)
        if name in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {name!r}", key.start_mark)
        seen.add(name)
    mapping = _Located()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {getattr(k, "value", None): k.start_mark.line + 1 for k, _ in node.value}
    yield mapping
    mapping.update(loader.construct_mapping(node))


def overlay(*mappings: dict) -> dict:
    """The mappings merged, a later one's keys winning, each key keeping the line it was
    written on: a variant over its entry, whose error then names the line of the bad field."""
    merged = _Located()
    for mapping in mappings:
        merged.update(mapping)
        merged.key_lines = {**merged.key_lines, **getattr(mapping, "key_lines", {})}
        merged.line = getattr(mapping, "line", 0) or merged.line
    return merged


_LineLoader.add_constructor("tag:yaml.org,2002:map", _located_mapping)
# YAML 1.1 reads 1e-4 as a string; people writing tolerances mean the number (YAML 1.2 does too).
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


# Aliases let a small file describe a huge tree (the "billion laughs"); no case file needs more.
MAX_NODES = 1_000_000


def load_yaml(text: str):
    """Parse ``text`` safely (no Python objects); mappings carry ``.line`` and ``.key_lines``.
    A document whose aliases expand past MAX_NODES is refused before anything walks it."""
    doc = yaml.load(text, Loader=_LineLoader)
    _check_size(doc)
    return doc


def _check_size(doc) -> None:
    seen, stack = 0, [doc]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise yaml.YAMLError(f"the document expands to more than {MAX_NODES:,} nodes (an alias bomb?)")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
