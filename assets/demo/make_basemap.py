#!/usr/bin/env python3
"""Paints an offline raster basemap of the demo township into basemap.pmtiles (zooms 12–15).

Run once; the output is committed. Needs Pillow and the pmtiles package (PyPI), e.g.
`python3 -m venv /tmp/v && /tmp/v/bin/pip install pillow pmtiles && /tmp/v/bin/python make_basemap.py`.

What it paints, from grids.geojson and a fixed seed: land with field parcels in greens and
yellows (a jittered 160 m lattice), hills shaded darker to the south, houses clustered around
each village centre, the river and the roads — a plain topographic look, so the vector grids
read well on top of it. Every feature lives in lon/lat and each tile is cut from them, so
the zooms agree with each other.

It also writes basemap.manifest.json (z/x/y → length and CRC-32 of every tile): the console's
tests read each tile back through their own PMTiles reader and compare.
"""
import io, json, math, random, zlib
from PIL import Image, ImageDraw
from pmtiles.tile import zxy_to_tileid, TileType, Compression
from pmtiles.writer import Writer

random.seed(20261129)
doc = json.load(open("grids.geojson"))
grids = [f for f in doc["features"] if f["properties"].get("kind", "grid") == "grid"]
lines = [f for f in doc["features"] if f["properties"].get("kind") in ("river", "road")]
pts = [c for g in grids for c in g["geometry"]["coordinates"][0]]
# The township and its surroundings, about 5 km on every side: the console's map pans to a
# margin around the grids, and a panel shaped unlike the township shows more on two sides.
MARGIN = 0.05
W, E = min(p[0] for p in pts) - MARGIN, max(p[0] for p in pts) + MARGIN
S, N = min(p[1] for p in pts) - MARGIN, max(p[1] for p in pts) + MARGIN
LAT0 = (S + N) / 2
DLON = 160 / (111320 * math.cos(math.radians(LAT0)))
DLAT = 160 / 110540

# Field parcels: a jittered lattice of quads, each a colour.
FIELD_COLOURS = [(203, 222, 170), (188, 214, 150), (222, 226, 170), (176, 206, 146), (214, 220, 186)]
corners = {}
ni, nj = int((E - W) / DLON) + 2, int((N - S) / DLAT) + 2
for i in range(ni):
    for j in range(nj):
        corners[i, j] = (W + (i + random.uniform(-0.3, 0.3)) * DLON, S + (j + random.uniform(-0.3, 0.3)) * DLAT)
fields = []
for i in range(ni - 1):
    for j in range(nj - 1):
        quad = [corners[i, j], corners[i + 1, j], corners[i + 1, j + 1], corners[i, j + 1]]
        hill = max(0.0, (LAT0 - corners[i, j][1]) / (LAT0 - S))  # the south is hilly
        base = random.choice(FIELD_COLOURS)
        shade = 1 - 0.25 * hill * random.uniform(0.6, 1.0)
        fields.append((quad, tuple(int(c * shade) for c in base)))

# Houses around the village centres (the mean of each village's grid centroids).
centres = {}
for g in grids:
    ring = g["geometry"]["coordinates"][0]
    cx, cy = sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)
    centres.setdefault(g["properties"]["village"], []).append((cx, cy))
houses = []
for village, cs in centres.items():
    cx, cy = sum(c[0] for c in cs) / len(cs), sum(c[1] for c in cs) / len(cs)
    for _ in range(220):
        x, y = random.gauss(cx, 3 * DLON), random.gauss(cy, 3 * DLAT)
        w, h = random.uniform(0.06, 0.14) * DLON, random.uniform(0.06, 0.12) * DLAT
        houses.append([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])


def mercator(z, lon, lat):
    n = 256 * 2 ** z
    x = (lon + 180) / 360 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return x, y


def tile(z, tx, ty):
    img = Image.new("RGB", (256, 256), (214, 224, 190))
    d = ImageDraw.Draw(img)
    px = lambda p: (mercator(z, *p)[0] - tx * 256, mercator(z, *p)[1] - ty * 256)
    for quad, colour in fields:
        d.polygon([px(p) for p in quad], fill=colour, outline=(170, 190, 140) if z >= 14 else None)
    for quad in houses:
        d.polygon([px(p) for p in quad], fill=(196, 160, 140))
    metres = 156543.03 * math.cos(math.radians(LAT0)) / 2 ** z  # per pixel
    for f in lines:
        path = [px(p) for p in f["geometry"]["coordinates"]]
        river = f["properties"]["kind"] == "river"
        width = max(2, int((60 if river else 14) / metres))
        if not river:
            d.line(path, fill=(150, 150, 150), width=width + 2, joint="curve")
        d.line(path, fill=(120, 170, 220) if river else (250, 250, 245), width=width, joint="curve")
    out = io.BytesIO()
    img.quantize(colors=48).save(out, "PNG", optimize=True)
    return out.getvalue()


tiles = {}
for z in range(12, 16):
    x0, y0 = (int(v // 256) for v in mercator(z, W, N))
    x1, y1 = (int(v // 256) for v in mercator(z, E, S))
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            tiles[zxy_to_tileid(z, x, y)] = (z, x, y, tile(z, x, y))

manifest = {}
with open("basemap.pmtiles", "wb") as f:
    w = Writer(f)
    for tid in sorted(tiles):
        z, x, y, data = tiles[tid]
        w.write_tile(tid, data)
        manifest[f"{z}/{x}/{y}"] = [len(data), zlib.crc32(data)]
    w.finalize(
        {
            "tile_type": TileType.PNG,
            "tile_compression": Compression.NONE,
            "min_lon_e7": int(W * 1e7), "min_lat_e7": int(S * 1e7),
            "max_lon_e7": int(E * 1e7), "max_lat_e7": int(N * 1e7),
            "center_zoom": 13, "center_lon_e7": int((W + E) / 2 * 1e7), "center_lat_e7": int(LAT0 * 1e7),
        },
        {"name": "青溪镇 basemap (demo)", "attribution": "generated by make_basemap.py"},
    )
json.dump(manifest, open("basemap.manifest.json", "w"), indent=0, sort_keys=True)
print(len(tiles), "tiles")
