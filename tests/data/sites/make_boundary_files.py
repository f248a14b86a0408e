"""Write the boundary-point fixtures of tests/test_jzd.py (run once; the files are committed).

Every ring is an axis-aligned rectangle given as offsets (east, north) in metres from
E0, N0 on the CGCS2000 3° Gauss–Krüger zone 40 (CM 120°E), in Anji/Wuxing, Huzhou,
so each expected area is width × height by hand. Rings are written clockwise or
anticlockwise on purpose (orientation must not matter) and some are left open.
"""

from pathlib import Path

HERE = Path(__file__).parent
E0, N0 = 495000.0, 3380000.0


def ring(rect, *, ccw=False, close=True):
    e0, n0, e1, n1 = rect
    pts = [(e0, n0), (e0, n1), (e1, n1), (e1, n0)]  # clockwise seen from above
    if ccw:
        pts = [pts[0]] + pts[:0:-1]
    if close:
        pts.append(pts[0])
    return [(E0 + e, N0 + n) for e, n in pts]


def jzd_rows(rings, prefix=40, start=1):
    """``点号,圈号,X,Y`` rows (X northing, Y easting with the zone prefix)."""
    rows, k = [], start
    for number, pts in rings:
        for e, n in pts:
            rows.append(f"J{k},{number},{n:.3f},{prefix * 1_000_000 + e:.3f}")
            k += 1
    return rows


HEADER = [
    "[属性描述]", "格式版本号=1.01版本", "数据产生单位=某测绘院", "数据产生日期=2024-03-01",
    "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=40",
    "精度=0.001", "转换参数=,,,,,,", "[地块坐标]",
]


def five_parcels():
    p1 = [
        (1, ring((0, 0, 20, 20))),                   # small separate part, 400 m²
        (2, ring((40, 0, 60, 20), ccw=True)),        # small separate part, 400 m²
        (3, ring((0, 100, 300, 300))),               # outer ring, 60 000 m²
        (4, ring((50, 140, 250, 260), ccw=True)),    # hole in it, 24 000 m²
        (5, ring((70, 160, 100, 190))),              # island in the hole, 900 m²
        (6, ring((200, 200, 230, 230), close=False)),  # island in the hole, 900 m², open
    ]
    p2 = [(1, ring((400, 0, 500, 50))), (2, ring((520, 0, 560, 50)))]  # 5 000 + 2 000 m²
    p3 = [(1, ring((600, 0, 700, 100)))]                                # 10 000 m²
    p4 = [(1, ring((0, 400, 200, 500))), (2, ring((50, 420, 100, 470)))]  # 20 000 − 2 500 m²
    p5 = [(1, ring((300, 400, 400, 500), close=False))]                 # 10 000 m², states 1.2 ha
    lines = list(HEADER)
    k = 1
    for header, rings in [
        ("{n},3.86,DK01,湖州某园区一期,面,H50G001001,工业用地,0601,@", p1),   # 38 600 m² = 3.86 ha
        ("{n},7000,DK02,湖州某园区仓储,面,,仓储用地,0508,@", p2),            # in m²
        ("{n},DKMC,FID_0,,面,,,DKYT,@", p3),                                # placeholders
        ("{n},1.7500,DK04,湖州某园区二期,面,,工业用地,0601,@", p4),          # 17 500 m²
        ("{n},1.2,DK05,湖州某园区三期,面,,工业用地,0601,@", p5),             # 1.2 ha ≠ 1.0 ha
    ]:
        rows = jzd_rows(rings, start=k)
        k += len(rows)
        lines.append(header.format(n=len(rows)))
        lines += rows
    text = "\r".join(lines) + "\r"                                          # classic Mac CR line ends
    (HERE / "jzd_nested_five_parcels_gb18030_cr.txt").write_bytes(text.encode("gb18030"))


def bare_lists():
    # LF, UTF-8, no header, eastings without the zone prefix, two closed sequences
    rows = []
    k = 1
    for rect in [(1000, 0, 1100, 80), (1200, 0, 1250, 40)]:              # 8 000 + 2 000 m²
        for e, n in ring(rect):
            rows.append(f"J{k},{n:.3f},{e:.3f}")
            k += 1
    (HERE / "points_bare_utf8_lf.txt").write_bytes(("\n".join(rows) + "\n").encode("utf-8"))
    # CRLF, GB18030, a column-name line, columns swapped (easting first), ring left open, tabs
    rows = ["点号\tX坐标\tY坐标"]
    for k, (e, n) in enumerate(ring((1300, 0, 1400, 100), close=False), 1):  # 10 000 m²
        rows.append(f"界址点{k}\t{e:.3f}\t{n:.3f}")
    (HERE / "points_bare_swapped_gb18030_crlf.txt").write_bytes(("\r\n".join(rows) + "\r\n").encode("gb18030"))


def crossing():
    lines = list(HEADER)
    rings = [(1, ring((0, 0, 100, 100))), (2, ring((50, 50, 150, 150)))]  # overlap 50 × 50
    rows = jzd_rows(rings)
    lines.append(f"{len(rows)},1.5,DK09,交叉地块,面,,,,@")
    lines += rows
    (HERE / "jzd_crossing_rings_utf8_crlf.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def table():
    rows = ["地块编号,圈号,点号,X,Y,面积"]
    k = 1
    for code, rings, area in [
        ("A", [(1, ring((0, 600, 100, 700))), (2, ring((25, 625, 75, 675)))], "0.75"),  # 7 500 m²
        ("B", [(1, ring((200, 600, 260, 650)))], "3000"),                              # 3 000 m²
    ]:
        first = True
        for number, pts in rings:
            for e, n in pts:
                rows.append(f"{code},{number},J{k},{n:.3f},{40_000_000 + e:.3f},{area if first else ''}")
                first = False
                k += 1
    (HERE / "boundary_points_gb18030_crlf.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("gb18030"))


if __name__ == "__main__":
    five_parcels()
    bare_lists()
    crossing()
    table()
