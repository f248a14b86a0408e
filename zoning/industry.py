"""GB/T 4754-2017 industry classification (国民经济行业分类): lookup and prefix logic.

Codes are a section letter (``C``), a 2-digit division (``26``), a 3-digit group
(``261``) or a 4-digit class (``2614``). A clause naming a code covers every code
under it; the section letter covers its divisions.
"""

import csv
from dataclasses import dataclass
from functools import cache

from rapidfuzz import process as _fuzz

from zoning.errors import ProjectError
from zoning.resources import reference_path

__all__ = ["Industry", "IndustryTable", "industries", "normalize_code"]


@dataclass(frozen=True)
class Industry:
    """One row of GB/T 4754-2017."""

    code: str
    name: str
    level: str
    parent: str


def normalize_code(code):
    """Return a code as the table spells it: strip spaces, upper-case a section letter.

    A leading section letter before digits (``C2614``) is dropped, as reviewers
    often write it that way.

    Examples
    --------
    >>> normalize_code(" c ")
    'C'
    >>> normalize_code("C2614")
    '2614'
    >>> normalize_code(2614)
    '2614'
    """
    text = str(code).strip().upper()
    if len(text) > 1 and text[0].isalpha() and text[1:].isdigit():
        text = text[1:]
    return text


class IndustryTable:
    """The code table with prefix logic.

    Examples
    --------
    >>> t = industries()
    >>> t.name("26")
    '化学原料和化学制品制造业'
    >>> t.covers("C", "2614"), t.covers("26", "2614"), t.covers("2614", "26")
    (True, True, False)
    >>> t.ancestors("2614")
    ('261', '26', 'C')
    """

    def __init__(self, rows):
        self._rows = {row.code: row for row in rows}
        self._ancestors = {}
        for code in self._rows:
            chain, cur = [], self._rows[code].parent
            while cur:
                chain.append(cur)
                cur = self._rows[cur].parent if cur in self._rows else ""
            self._ancestors[code] = tuple(chain)
        self._choices = {code: f"{code} {row.name}" for code, row in self._rows.items()}

    def __contains__(self, code):
        return normalize_code(code) in self._rows

    def __len__(self):
        return len(self._rows)

    def __iter__(self):
        return iter(self._rows.values())

    def get(self, code):
        """Return the :class:`Industry` for ``code`` or None."""
        return self._rows.get(normalize_code(code))

    def name(self, code):
        """Return the Chinese name of ``code`` (KeyError if unknown)."""
        return self._rows[normalize_code(code)].name

    def ancestors(self, code):
        """Return the codes above ``code``, nearest first, ending with its section."""
        return self._ancestors[normalize_code(code)]

    def section(self, code):
        """Return the section letter of ``code``."""
        code = normalize_code(code)
        chain = self._ancestors[code]
        return chain[-1] if chain else code

    def covers(self, prefix, code):
        """True when ``code`` is ``prefix`` or lies under it."""
        prefix, code = normalize_code(prefix), normalize_code(code)
        return code == prefix or prefix in self._ancestors.get(code, ())

    def children(self, code):
        """Return the codes directly under ``code``."""
        code = normalize_code(code)
        return [row.code for row in self._rows.values() if row.parent == code]

    def suggest(self, code, limit=1):
        """Return up to ``limit`` existing codes nearest to an unknown ``code``.

        Nearest means: the longest existing prefix of it first, then string similarity.

        Examples
        --------
        >>> industries().suggest("2619")
        ['261']
        >>> industries().suggest("9999")[0] in industries()
        True
        """
        code = normalize_code(code)
        out = []
        for cut in range(len(code) - 1, 0, -1):
            if code[:cut] in self._rows:
                out.append(code[:cut])
                break
        if len(out) < limit or not out:
            matches = _fuzz.extract(code, {c: c for c in self._rows}, limit=limit + 1)
            out.extend(m[2] for m in matches if m[2] not in out)
        return out[:limit]

    def by_name(self, text, limit=3):
        """Codes whose name matches ``text`` (Chinese, as people type it), most general first:
        the usual short names (化工, 医药, 印染 …), names containing the text, then similar names.

        Examples
        --------
        >>> industries().by_name("化工")[0]
        '26'
        >>> industries().by_name("有机化学原料")[0]
        '2614'
        """
        text = str(text).strip()
        out = [c for c in _COMMON_NAMES.get(text, ()) if c in self._rows]
        contains = sorted((r.code for r in self._rows.values() if text and text in r.name), key=lambda c: (len(c), c))
        out += [c for c in contains if c not in out]
        if len(out) < limit:
            names = {r.code: r.name for r in self._rows.values()}
            out += [m[2] for m in _fuzz.extract(text, names, limit=limit) if m[2] not in out]
        return out[:limit]

    def describe(self, code):
        """Return ``'2614 有机化学原料制造'`` for a known code."""
        code = normalize_code(code)
        return f"{code} ({self._rows[code].name})"

    def check(self, code, *, what="industry code"):
        """Return the normalised code, or raise ProjectError suggesting the nearest one.

        Examples
        --------
        >>> industries().check("C2614")
        '2614'
        >>> industries().check("2615")
        Traceback (most recent call last):
        ...
        zoning.errors.ProjectError: industry code '2615' is not in GB/T 4754-2017; did you mean 261 (基础化学原料制造)?
        """
        norm = normalize_code(code)
        if norm in self._rows:
            return norm
        if any(ord(ch) > 127 for ch in norm):
            found = self.by_name(norm, limit=3)
            tip = f"; did you mean {self.describe(found[0])}?" if found else ""
            more = f" (also {', '.join(self.describe(c) for c in found[1:])})" if len(found) > 1 else ""
            raise ProjectError(f"{what} {str(code)!r} is a name, not a GB/T 4754-2017 code{tip}{more}")
        hint = self.suggest(norm)
        tip = f"; did you mean {self.describe(hint[0])}?" if hint else ""
        raise ProjectError(f"{what} {str(code)!r} is not in GB/T 4754-2017{tip}")


#: Short names reviewers and enterprises type for an industry, with their GB/T 4754-2017 codes.
_COMMON_NAMES = {
    "化工": ("26",), "化学": ("26",), "石化": ("25", "2614"), "炼油": ("2511",), "医药": ("27",), "制药": ("27",),
    "原料药": ("2710",), "印染": ("171", "1713"), "纺织": ("17",), "制革": ("1910",), "皮革": ("19",),
    "造纸": ("22",), "制浆": ("2211",), "水泥": ("3011",), "玻璃": ("304",), "钢铁": ("31",), "冶炼": ("31", "32"),
    "有色": ("32",), "电镀": ("3360",), "电池": ("384",), "铅蓄电池": ("3843",), "火电": ("4411",), "发电": ("441",),
    "涂料": ("2641",), "农药": ("263",), "化肥": ("262",), "食品": ("14",), "物流": ("G",), "仓储": ("59",),
}


@cache
def industries():
    """Return the shipped GB/T 4754-2017 table (cached)."""
    with open(reference_path("gbt4754_2017.csv"), encoding="utf-8", newline="") as fh:
        rows = [Industry(r["code"].strip(), r["name"].strip(), r["level"].strip(), r["parent"].strip()) for r in csv.DictReader(fh)]
    return IndustryTable(rows)
