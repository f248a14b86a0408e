"""YAML reading that remembers where every value came from.

Validation errors must point at the file and line; :func:`load_yaml` returns the
data together with a map from each value's path (a tuple of keys and list
indices) to its 1-based line number.
"""

import yaml

from zoning.errors import PackError

__all__ = ["load_yaml", "line_of"]


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

    Raises PackError naming the file and line for a syntax error or a key
    given twice in one mapping.

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
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
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
