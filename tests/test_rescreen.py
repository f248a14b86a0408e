"""`zoning rescreen` and pack versions served side by side (contract §8, issue 10 part 4).

Records are made through the service (a live `zoning serve`, or its handlers over a real
SQLite file), a new version of the grid pack is made in tmp with one verdict-flipping
change, and the records are screened again on it.
"""

import csv
import datetime as dt
import json
import shutil

import pytest
from click.testing import CliRunner

from conftest import GRID
from service_support import SITE_GENERAL, SITE_KEY, SITE_PRI, feature, start_server
from zoning.cli import main

COLUMNS = ["screening_id", "old_verdict", "new_verdict", "changed", "old_pack_version", "new_pack_version", "reason"]

NEW_CLAUSE = """
  - id: T-NEW-01
    tier: unit
    dimension: spatial_layout
    text: 本单元禁止新建信息技术服务项目（测试新增条款）
    applies_in: {unit_codes: [ZH33052120001]}
    effect: prohibit
    when:
      industry: ["65"]
"""


def new_version(tmp_path, *, version="2.0", effective="2025-01-01", clause=True, quota_used=None, name="grid-v2"):
    """A copy of the grid pack with a new version (and a clause that prohibits 65xx in the key unit)."""
    d = tmp_path / name
    shutil.copytree(GRID, d)
    text = (d / "pack.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "1.0"', f'version: "{version}"').replace("effective: 2024-01-01", f"effective: {effective}")
    (d / "pack.yaml").write_text(text, encoding="utf-8")
    if clause:
        with open(d / "rules.yaml", "a", encoding="utf-8") as fh:
            fh.write(NEW_CLAUSE)
    if quota_used is not None:
        q = (d / "quotas.csv").read_text(encoding="utf-8").replace("ZH33052120001,water_m3,100000,90000", f"ZH33052120001,water_m3,100000,{quota_used}")
        (d / "quotas.csv").write_text(q, encoding="utf-8")
    return d


def run(*args):
    res = CliRunner().invoke(main, ["rescreen", *map(str, args)])
    return res


def read_changes(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CHANGES.csv starts with a UTF-8 BOM (Excel)"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        return {r["screening_id"]: r for r in reader}


def _json(obj):
    return json.loads(json.dumps(obj))


@pytest.fixture()
def service_db(tmp_path):
    """The service's handlers over a real SQLite file: ``(service, url)``."""
    from zoning.service.handlers import Service, load_packs
    from zoning.service.store import Store

    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    svc = Service(load_packs([GRID]), Store(url), warm=False)
    yield svc, url
    svc.store.dispose()


def screen(svc, geom, **project):
    return svc.screen_feature(_json(feature(geom, **project)))


# ----------------------------------------------------------------------------- end to end

def test_end_to_end_live_server_versions_side_by_side_then_rescreen(tmp_path):
    v2 = new_version(tmp_path)
    db = tmp_path / "run" / "records.sqlite"
    srv = start_server(tmp_path / "run", packs=(GRID, v2))
    try:
        with srv.client() as c:
            listed = c.get("/v1/packs").json()
            assert [(p["id"], p["version"], p["latest"]) for p in listed["packs"]] == [("grid-test", "2.0", True), ("grid-test", "1.0", False)]
            versions = listed["versions"]["grid-test"]
            assert [v["version"] for v in versions] == ["2.0", "1.0"]
            assert [v["effective"] for v in versions] == ["2025-01-01", "2024-01-01"]
            assert all(v["digest"].startswith("sha256:") for v in versions) and versions[0]["digest"] != versions[1]["digest"]
            assert listed["default"] == "grid-test"

            body = feature(SITE_KEY, industry="6550", construction="new")
            old = c.post("/v1/screen", params={"pack": "grid-test@1.0"}, json=body).json()
            new = c.post("/v1/screen", params={"pack": "grid-test@2.0"}, json=body).json()
            plain = c.post("/v1/screen", params={"pack": "grid-test"}, json=body).json()
            default = c.post("/v1/screen", json=body).json()
            assert (old["verdict"], old["pack"]["version"]) == ("needs_information", "1.0")
            assert (new["verdict"], new["pack"]["version"]) == ("prohibited", "2.0")
            assert "T-NEW-01" in {f["clause_id"] for f in new["findings"]}
            assert plain["pack"]["version"] == default["pack"]["version"] == "2.0"

            missing = c.get("/v1/units/ZH33052120001", params={"pack": "grid-test@9.9"})
            assert missing.status_code == 404
            err = missing.json()
            assert err["error"] == "pack_version_not_found" and err["detail"]["versions"] == ["2.0", "1.0"]
            assert "no version '9.9'" in err["detail"]["message"] and "'2.0', '1.0'" in err["detail"]["message"]
            bad = c.post("/v1/screen", params={"pack": "grid-test@9.9"}, json=body)
            assert bad.status_code == 404 and bad.json()["error"] == "pack_version_not_found"
            assert c.get("/v1/packs/grid-test@1.0/units").status_code == 200
            u1 = c.get("/v1/units/ZH33052120001", params={"pack": "grid-test@1.0"}).json()
            u2 = c.get("/v1/units/ZH33052120001", params={"pack": "grid-test@2.0"}).json()
            assert "T-NEW-01" in {x["id"] for x in u2["properties"]["clauses"]}
            assert "T-NEW-01" not in {x["id"] for x in u1["properties"]["clauses"]}

            # a record of the old version: fetched, named by version and digest, its map drawn with that version
            rec = c.get(f"/v1/screenings/{old['screening_id']}").json()
            assert rec["pack"] == {"id": "grid-test", "version": "1.0", "digest": versions[1]["digest"]}
            assert {k: rec["verdict"]["pack"][k] for k in ("id", "version", "digest")} == rec["pack"] and rec["integrity"] == "ok"
            m = c.get(f"/v1/screenings/{old['screening_id']}/map")
            assert m.status_code == 200 and "ZH33052120001" in m.text
            assert "Z-AIR" in m.text  # the pack's layers are drawn (the minimal map of an unserved version has only the site)

            others = [c.post("/v1/screen", params={"pack": "grid-test@1.0"}, json=feature(g, industry="6550", construction="new")).json()
                      for g in (SITE_PRI, SITE_GENERAL)]
    finally:
        srv.stop()

    out = tmp_path / "changes.csv"
    res = run("--pack", v2, "--db", db, "-o", out)
    assert res.exit_code == 0, res.output
    rows = read_changes(out)
    assert len(rows) == 6
    r = rows[old["screening_id"]]
    assert (r["old_verdict"], r["new_verdict"], r["changed"]) == ("needs_information", "prohibited", "true")
    assert (r["old_pack_version"], r["new_pack_version"]) == ("1.0", "2.0")
    assert r["reason"] == "T-NEW-01 fires only in new (prohibit at ZH33052120001)"
    for rec in [new, plain, default, *others]:
        row = rows[rec["screening_id"]]
        assert row["changed"] == "false" and row["old_verdict"] == row["new_verdict"] == rec["verdict"], row
        assert row["reason"] == ""
    assert {rows[x["screening_id"]]["old_pack_version"] for x in (new, plain, default)} == {"2.0"}
    assert "1 of 6 records change verdict" in res.output

    verify = CliRunner().invoke(main, ["records", "verify", "--db", f"sqlite:///{db}"])
    assert verify.exit_code == 0 and "6 records, 6 chained" in verify.output and "integrity: ok" in verify.output


# ----------------------------------------------------------------------------- rescreen over the handlers

def test_rescreen_same_pack_changes_nothing_and_quota_reason(service_db, tmp_path):
    svc, url = service_db
    recs = [
        screen(svc, SITE_KEY, industry="6550", construction="new", water_m3=5000),
        screen(svc, SITE_PRI, industry="2614", construction="new", emissions={"VOCs": 1.0}, fuel=[]),
        screen(svc, SITE_GENERAL, industry=["6550", "1713"], construction="expansion", activity=None),
        svc.screen_feature(_json({"type": "Feature", "properties": {"industry": "6550"},
                                  "geometry": {"type": "LineString", "coordinates": [[120.0052, 30.7251], [120.0152, 30.7251]]}})),
    ]
    out = tmp_path / "same.csv"
    res = run("--pack", GRID, "--db", url, "-o", out)
    assert res.exit_code == 0, res.output
    rows = read_changes(out)
    assert list(rows) == [r["screening_id"] for r in recs]  # oldest first
    for rec in recs:
        assert (rows[rec["screening_id"]]["new_verdict"], rows[rec["screening_id"]]["changed"], rows[rec["screening_id"]]["reason"]) == \
            (rec["verdict"], "false", "")

    # the key unit's water quota used up in the new version: 5000 m³ of demand is now over
    v2 = new_version(tmp_path, clause=False, quota_used=98000)
    res = run("--pack", v2, "--db", tmp_path / "records.sqlite", "-o", out)  # a plain file path works too
    assert res.exit_code == 0, res.output
    rows = read_changes(out)
    r = rows[recs[0]["screening_id"]]
    assert (r["old_verdict"], r["new_verdict"], r["changed"]) == ("needs_information", "prohibited", "true")
    assert "quota ZH33052120001:water_m3 ok→over (remaining 10000.0→2000.0)" in r["reason"]
    assert "quota:ZH33052120001:water_m3 fires only in new" not in r["reason"]  # told once, by the quota line
    assert all(rows[x["screening_id"]]["changed"] == "false" for x in recs[1:])


def test_since_other_packs_and_unscreenable_records(service_db, tmp_path, monkeypatch):
    import zoning.service.store as store_mod

    svc, url = service_db

    class _Then:
        timezone = dt.timezone

        class datetime:
            @staticmethod
            def now(tz=None):
                return dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.timezone.utc)

    monkeypatch.setattr(store_mod, "_dt", _Then)
    early = screen(svc, SITE_KEY, industry="6550", construction="new")
    monkeypatch.undo()
    late = screen(svc, SITE_KEY, industry="6550", construction="new")
    other = svc.store.add({"site": {"type": "Point", "coordinates": [120.0, 30.7]}, "project": {}},
                          {"verdict": "permitted", "pack": {"id": "another-pack", "version": "1", "digest": "sha256:0"}, "engine": {"version": "x"}})
    nosite = svc.store.add({"kind": "feature"}, {"verdict": "permitted", "pack": {"id": "grid-test", "version": "0.9", "digest": "sha256:0"},
                                                 "engine": {"version": "x"}})
    v2 = new_version(tmp_path)
    out = tmp_path / "all.csv"
    res = run("--pack", v2, "--db", url, "-o", out)
    assert res.exit_code == 0, res.output
    rows = read_changes(out)
    assert set(rows) == {early["screening_id"], late["screening_id"], nosite}
    assert other not in rows and "1 records of other packs skipped: another-pack (1)" in res.output
    assert rows[nosite]["changed"] == "true" and rows[nosite]["new_verdict"] == ""
    assert rows[nosite]["reason"] == "cannot be screened again: the stored request has no site"
    assert "1 records could not be screened again" in res.output
    assert "3 of 3 records change verdict" in res.output

    out2 = tmp_path / "since.csv"
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    res = run("--pack", v2, "--db", url, "--since", "2024-06-01", "-o", out2)
    assert res.exit_code == 0, res.output
    assert early["screening_id"] not in read_changes(out2) and late["screening_id"] in read_changes(out2)
    res = run("--pack", v2, "--db", url, "--since", "2024-03-01", "-o", out2)
    assert early["screening_id"] in read_changes(out2)
    res = run("--pack", v2, "--db", url, "--since", "2999-01-01", "-o", out2)
    assert res.exit_code == 0 and read_changes(out2) == {}
    assert f"since {today}" not in res.output and "since 2999-01-01" in res.output

    # nothing was written to the store
    assert svc.store.count() == 4 and svc.store.verify()["status"] == "ok"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "2024-13-01"], "not a calendar date"),
        (["--since", "yesterday"], "expected YYYY-MM-DD"),
        (["--db", "{tmp}/nothing.sqlite"], "no record store at"),
        (["--db", "{tmp}/junk.sqlite"], "record store"),
        (["--db", "{tmp}/empty.sqlite"], "no screenings table"),
        (["--pack", "{tmp}/no-pack"], "error"),
        (["-o", "{tmp}/no/such/dir/out.csv"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line(service_db, tmp_path, args, message):
    import sqlite3

    svc, url = service_db
    screen(svc, SITE_KEY, industry="6550")
    (tmp_path / "junk.sqlite").write_bytes(b"this is not a database" * 100)
    sqlite3.connect(tmp_path / "empty.sqlite").execute("CREATE TABLE t (x)").connection.close()
    out = tmp_path / "out.csv"
    out.write_text("kept\n", encoding="utf-8")
    base = {"--pack": str(GRID), "--db": url, "-o": str(out)}
    given = dict(zip(args[::2], [a.format(tmp=tmp_path) for a in args[1::2]]))
    res = run(*[x for k, v in {**base, **given}.items() for x in (k, v)])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert out.read_text(encoding="utf-8") == "kept\n"  # an earlier CHANGES.csv is left alone
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_rescreen_of_many_records_in_batches(service_db, tmp_path, monkeypatch):
    """Several batches (batch size lowered), rows in record order, same answers as one record at a time."""
    import zoning.service.rescreen as rs

    svc, url = service_db
    sites = [SITE_KEY, SITE_PRI, SITE_GENERAL]
    industries = ["6550", "2614", "1713", "C"]
    made = [(sites[i % 3], {"industry": industries[i % 4], "construction": "new"}) for i in range(23)]
    recs = [screen(svc, geom, **project) for geom, project in made]
    from zoning.service.store import RecordReader
    from zoning import load_pack

    pack = load_pack(new_version(tmp_path))
    reader = RecordReader(url)
    stats = rs.RescreenStats()
    calls = []
    real = pack.screen_many
    monkeypatch.setattr(pack, "screen_many", lambda frame, **kw: calls.append(len(frame)) or real(frame, **kw))
    rows = list(rs.rescreen(pack, reader.records(), stats, batch=5))
    reader.dispose()
    assert calls == [5, 5, 5, 5, 3]  # bulk, not one record at a time
    assert [r["screening_id"] for r in rows] == [r["screening_id"] for r in recs]
    for (geom, project), rec, row in zip(made, recs, rows):
        alone = pack.screen(geom, project).verdict
        assert row["new_verdict"] == alone
        assert row["changed"] == ("true" if alone != rec["verdict"] else "false")
    assert stats.changed == sum(r["changed"] == "true" for r in rows) > 0
    assert stats.screened == 23 and stats.failed == 0


def test_two_dirs_same_id_same_version_are_refused(tmp_path):
    from zoning.service.handlers import load_packs
    from zoning.errors import PackError

    twin = new_version(tmp_path, version="1.0", effective="2024-01-01")
    with pytest.raises(PackError, match=r"id 'grid-test' and version '1\.0'"):
        load_packs([GRID, twin])
    packs = load_packs([GRID, new_version(tmp_path, version="1.10", name="v110"), new_version(tmp_path, version="1.9", name="v19",
                                                                                               effective="2025-01-01")])
    assert list(packs) == ["grid-test@1.0", "grid-test@1.10", "grid-test@1.9"]


def test_newest_version_by_effective_then_version_string(tmp_path):
    from zoning.service.errors import NotFound
    from zoning.service.handlers import Service, load_packs
    from zoning.service.store import Store

    a = new_version(tmp_path, version="1.9", effective="2025-01-01", name="a", clause=False)
    b = new_version(tmp_path, version="1.10", effective="2025-01-01", name="b", clause=False)
    svc = Service(load_packs([GRID, a, b]), Store("sqlite://"), warm=False)
    assert svc.pack().version == svc.pack("grid-test").version == "1.10"  # same date: 1.10 after 1.9
    assert svc.pack("grid-test@1.0").version == "1.0"
    assert [v["version"] for v in svc.list_packs()["versions"]["grid-test"]] == ["1.10", "1.9", "1.0"]
    with pytest.raises(NotFound, match=r"no version '2'.*'1\.10', '1\.9', '1\.0'"):
        svc.pack("grid-test@2")
    with pytest.raises(NotFound, match="no pack 'nope'"):
        svc.pack("nope@1.0")
    # a record of an older version is drawn with that version's data while it is served
    rec = svc.screen_feature(_json(feature(SITE_KEY, industry="6550")), pack="grid-test@1.0")
    assert rec["pack"]["version"] == "1.0"
    assert svc.served("grid-test", "1.0", rec["pack"]["digest"]) is svc.pack("grid-test@1.0")
    assert "Z-AIR" in svc.screening_map(rec["screening_id"], offline=True)


def test_uploaded_and_converted_sites_are_screened_as_stored(service_db, tmp_path):
    """An uploaded shapefile (its project from form fields) and a GCJ-02 point are screened again as they were screened."""
    from service_support import site_files

    svc, url = service_db
    name, data = site_files(tmp_path)["shapefile"]
    up = svc.screen_upload(data, name, {"industry": "6550", "construction": "new"})
    units = svc.pack().units
    pt = units[units["unit_code"] == "ZH33052120001"].geometry.iloc[0].representative_point()
    gcj = svc.screen_feature(_json({"type": "Feature", "properties": {"industry": "6550", "construction": "new"},
                                    "geometry": {"type": "Point", "coordinates": [pt.x + 0.0046, pt.y - 0.0024]}}), gcj02=True)
    assert svc.screening(gcj["screening_id"])["request"]["options"]["webmap"] == "gcj02"
    out = tmp_path / "changes.csv"
    res = run("--pack", new_version(tmp_path), "--db", url, "-o", out)
    assert res.exit_code == 0, res.output
    rows = read_changes(out)
    r = rows[up["screening_id"]]
    assert (r["old_verdict"], r["new_verdict"], r["changed"]) == ("needs_information", "prohibited", "true")
    assert r["reason"] == "T-NEW-01 fires only in new (prohibit at ZH33052120001)"
    g = rows[gcj["screening_id"]]
    assert "ZH33052120001" in {u["unit_code"] for u in gcj["units"]}  # GCJ-02 → CGCS2000 shifted it into the key unit
    assert (g["old_verdict"], g["new_verdict"], g["changed"]) == (gcj["verdict"], "prohibited", "true")
    same = run("--pack", GRID, "--db", url, "-o", out)
    assert same.exit_code == 0 and all(x["changed"] == "false" and x["reason"] == "" for x in read_changes(out).values())
