#!/usr/bin/env python3
"""Draws the demo township 青溪镇 (Qingxi, fictional) into grids.geojson.

Run once; the output is committed. The shape: an irregular township boundary, a river
meandering west to east, two roads, and five villages whose grids are Voronoi cells of
scattered seed points (dense in the market town, wide in the hills), clipped to the
boundary — so grids look like the irregular parcels of a real place, not a checkerboard.
Deterministic: the same seed gives the same township.
"""
import json, math, random

random.seed(20261128)
LON0, LAT0 = 119.9980, 30.1350          # township centre (fictional, in the hills of Zhejiang)
MX = 111320 * math.cos(math.radians(LAT0))
MY = 110540

def to_lonlat(p):
    return [round(LON0 + p[0] / MX, 6), round(LAT0 + p[1] / MY, 6)]

# Township boundary: a lumpy ellipse, 9.5 km by 7 km.
boundary = []
for i in range(48):
    a = 2 * math.pi * i / 48
    r = 1 + 0.09 * math.sin(3 * a + 0.7) + 0.06 * math.sin(5 * a + 2.1) + random.uniform(-0.025, 0.025)
    boundary.append((4750 * r * math.cos(a), 3500 * r * math.sin(a)))

# Villages: name, code, centre (m), seed count, scatter (m), surnames of grid workers
villages = [
    ("杏林社区", "XL", (300, 200), 11, 900),
    ("东湾村", "DW", (2900, 900), 8, 1300),
    ("柳塘村", "LT", (-2700, 1300), 8, 1300),
    ("石桥村", "SQ", (-1900, -1800), 7, 1200),
    ("南山村", "NS", (2200, -2000), 8, 1400),
]
workers = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周婷", "吴强",
           "徐丽", "孙杰", "胡霞", "朱军", "高燕", "林涛", "何平", "郭红", "马超", "罗琳",
           "梁鹏", "宋佳", "郑浩", "谢颖", "韩冰", "唐亮", "冯雪", "于洁", "董辉", "萧然",
           "程刚", "曹艳", "袁博", "邓慧", "许诚", "傅蕾", "沈刚", "曾宁", "彭飞", "吕薇",
           "苏阳", "卢娟", "蒋山", "蔡琴", "贾睿", "丁悦"]

def inside(poly, p):
    x, y = p; c = False
    for i in range(len(poly)):
        x1, y1 = poly[i]; x2, y2 = poly[i - 1]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            c = not c
    return c

seeds = []
for name, code, (cx, cy), n, spread in villages:
    got = 0
    while got < n:
        p = (random.gauss(cx, spread * 0.55), random.gauss(cy, spread * 0.55))
        if inside(boundary, p) and all(math.dist(p, s[0]) > 380 for s in seeds):
            seeds.append((p, name, code)); got += 1

def clip(poly, a, b, c):
    """Keeps the part of poly where a*x + b*y <= c (Sutherland–Hodgman, one half-plane)."""
    out = []
    for i in range(len(poly)):
        p, q = poly[i - 1], poly[i]
        fp, fq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
        if fq <= 0:
            if fp > 0:
                t = fp / (fp - fq); out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
            out.append(q)
        elif fp <= 0:
            t = fp / (fp - fq); out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out

def convex_boundary_cells():
    # The boundary is not convex, so clip each Voronoi cell of a big box, then intersect with the
    # boundary by keeping the boundary's vertices inside the cell plus the cell clipped by the
    # boundary's convex pieces: simpler and good enough here — clip the boundary itself by the
    # Voronoi half-planes (the boundary is star-shaped around every seed's neighbourhood).
    cells = []
    for i, (p, _, _) in enumerate(seeds):
        cell = list(boundary)
        for j, (q, _, _) in enumerate(seeds):
            if i == j:
                continue
            a, b = q[0] - p[0], q[1] - p[1]
            c = (q[0] ** 2 + q[1] ** 2 - p[0] ** 2 - p[1] ** 2) / 2
            cell = clip(cell, a, b, c)
            if not cell:
                break
        cells.append(cell)
    return cells

def roughen(poly, amp=45):
    """Adds midpoints nudged sideways, so cell edges wander like field boundaries."""
    out = []
    for i in range(len(poly)):
        p, q = poly[i], poly[(i + 1) % len(poly)]
        out.append(p)
        d = math.dist(p, q)
        if d > 500:
            nx, ny = -(q[1] - p[1]) / d, (q[0] - p[0]) / d
            # deterministic in the edge, so both neighbours get the same wobble
            key = round(p[0] + q[0]) * 7 + round(p[1] + q[1]) * 13
            off = (key % 97 - 48) / 48 * amp
            out.append(((p[0] + q[0]) / 2 + nx * off * (1 if (p < q) else -1), (p[1] + q[1]) / 2 + ny * off * (1 if (p < q) else -1)))
    return out

features = []
counters = {}
for k, ((p, name, code), cell) in enumerate(zip(seeds, convex_boundary_cells())):
    counters[code] = counters.get(code, 0) + 1
    n = counters[code]
    ring = [to_lonlat(v) for v in roughen(cell)]
    ring.append(ring[0])
    features.append({
        "type": "Feature",
        "properties": {"kind": "grid", "code": f"{code}-{n:02d}", "name": f"{name}第{n}网格",
                        "village": name, "worker": workers[k % len(workers)]},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    })

# The river 青溪: west to east, meandering, through the market town's south edge.
river = []
for i in range(41):
    x = -5200 + i * 260
    river.append(to_lonlat((x, -350 + 420 * math.sin(x / 1300) + 160 * math.sin(x / 470))))
features.append({"type": "Feature", "properties": {"kind": "river", "name": "青溪"},
                 "geometry": {"type": "LineString", "coordinates": river}})
roads = [("镇西路", [(-5000, 900), (-2600, 1200), (-800, 500), (300, 200), (1800, 500), (5000, 1100)]),
         ("南山大道", [(300, 200), (600, -900), (1500, -1700), (2300, -2100), (3000, -3300)]),
         ("石桥路", [(-800, 500), (-1500, -900), (-1900, -1800), (-2300, -3200)])]
for name, pts in roads:
    features.append({"type": "Feature", "properties": {"kind": "road", "name": name},
                     "geometry": {"type": "LineString", "coordinates": [to_lonlat(p) for p in pts]}})

with open("grids.geojson", "w", encoding="utf-8") as f:
    json.dump({"type": "FeatureCollection", "name": "青溪镇", "features": features}, f,
              ensure_ascii=False, separators=(",", ":"))
    f.write("\n")
print(len(seeds), "grids")
for (p, name, code) in seeds[:3]:
    print(code, to_lonlat(p))
