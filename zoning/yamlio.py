"""YAML reading that remembers where every value came from.

Validation errors must point at the file and line; :func:`load_yaml` returns the
data together with a map from each value's path (a tuple of keys and list
indices) to its 1-based line number.

Aliases (``*name``) are refused: a zoning pack never needs them, and a few
hundred bytes of nested aliases expand to gigabytes ("billion laughs" for YAML).
:class:`NoAliasLoader` stops at the first alias, before anything is expanded.
"""

import yaml

from zoning.errors import PackError

__all__ = ["load_yaml", "line_of", "NoAliasLoader", "AliasRefused"]


class AliasRefused(yaml.MarkedYAMLError):
    """A YAML alias was met; the mark says where."""


class NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses aliases (``*name``) where it meets them.

    Anchors alone are harmless and allowed; the first alias raises
    :class:`AliasRefused` carrying its line, before any node is shared or copied.

    >>> yaml.load("a: &x 1\\nb: 2\\n", Loader=NoAliasLoader)
    {'a': 1, 'b': 2}
    >>> yaml.load("a: &x [1]\\nb: *x\\n", Loader=NoAliasLoader)
    Traceback (most recent call last):
    ...
    zoning.yamlio.AliasRefused: YAML aliases are not allowed
      in "<unicode string>", line 2, column 4:
        b: *x
           ^
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise AliasRefused(None, None, "YAML aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def _walk(node, path, lines, duplicates):
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                duplicates.append((key_node.start_mark.line + 1, path + (key,)))
            seen.add(key)
            _walk(value_node, path + (key,), lines, duplicates)
            lines.setdefault(path + (key, "__key__"), key_node.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, duplicates)


def load_yaml(path):
    """Read a YAML file; return ``(data, lines)``.

    Raises PackError naming the file and line for a syntax error, an alias
    (``*name``: refused, see :class:`NoAliasLoader`) or a key given twice in
    one mapping.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.yaml")
    >>> _ = open(p, "w").write("a: 1\\nb:\\n  - c: 2\\n")
    >>> data, lines = load_yaml(p)
    >>> data, lines[("b", 0, "c")]
    ({'a': 1, 'b': [{'c': 2}]}, 3)
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise PackError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise PackError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    try:
        loader = NoAliasLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except AliasRefused as exc:
        raise PackError(
            f"{path}:{exc.problem_mark.line + 1}: YAML aliases (*name) are not allowed; "
            "write the value out in full (anchors and aliases can expand a small file to gigabytes)"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PackError(f"{where}: YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise PackError(f"{path}: YAML error: {exc}") from None
    lines, duplicates = {}, []
    if node is not None:
        _walk(node, (), lines, duplicates)
    if duplicates:
        line, key_path = duplicates[0]
        raise PackError(f"{path}:{line}: key {key_path[-1]!r} is given twice in the same mapping")
    return data, lines


def line_of(lines, path):
    """Return the line of ``path`` or of its nearest ancestor that has one (None if none)."""
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
