"""Generate the built-in topology files from the PyPI package `vietnamadminunits`.

Run once by a developer (not at run time):

    pip install vietnamadminunits && python scripts/generate_topology.py

It reads the package's `data/dataset.db`: table `admin_units_legacy` (pre-2025 map) for the
Cao Bằng province with its 10 district-level units and 161 communes, and table `admin_units`
(2025 map) for the national case: 34 provinces and 3,321 communes. Codes are the official GSO
codes (2 digits province, 3 district, 5 commune), so they are unique within one map.
"""

import csv
import sqlite3
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "models" / "topology" / "data"
COLUMNS = ["code", "name", "level", "parent_code", "lat", "lon", "probe_mode"]
CAO_BANG = "04"


def dataset() -> sqlite3.Connection:
    path = files("vietnamadminunits") / "data" / "dataset.db"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def cao_bang(db: sqlite3.Connection) -> Iterable[list[object]]:
    province, lat, lon = db.execute(
        "SELECT DISTINCT provinceShort, provinceLat, provinceLon FROM admin_units_legacy "
        "WHERE provinceCode = ?",
        (CAO_BANG,),
    ).fetchone()
    # The provincial hall is the hub: the monitor runs there, so it is not probed by default.
    yield [CAO_BANG, f"Điểm cầu trung tâm tỉnh {province}", "hub", "", lat, lon, "none"]
    for code, name, dlat, dlon in db.execute(
        "SELECT DISTINCT districtCode, district, districtLat, districtLon FROM admin_units_legacy "
        "WHERE provinceCode = ? ORDER BY districtCode",
        (CAO_BANG,),
    ):
        yield [code, name, "district", CAO_BANG, dlat, dlon, "pull"]
    for code, name, parent, wlat, wlon in db.execute(
        "SELECT wardCode, ward, districtCode, wardLat, wardLon FROM admin_units_legacy "
        "WHERE provinceCode = ? ORDER BY districtCode, wardCode",
        (CAO_BANG,),
    ):
        yield [code, name, "commune", parent, wlat, wlon, "pull"]


def vietnam_2025(db: sqlite3.Connection) -> Iterable[list[object]]:
    (lat, lon) = db.execute(
        "SELECT provinceLat, provinceLon FROM admin_units WHERE provinceCode = '01' LIMIT 1"
    ).fetchone()
    yield ["VN", "Điểm cầu Trung ương (Hà Nội)", "hub", "", lat, lon, "none"]
    for code, name, plat, plon in db.execute(
        "SELECT DISTINCT provinceCode, province, provinceLat, provinceLon FROM admin_units "
        "ORDER BY provinceCode"
    ):
        yield [code, name, "province", "VN", plat, plon, "pull"]
    for code, name, parent, wlat, wlon in db.execute(
        "SELECT wardCode, ward, provinceCode, wardLat, wardLon FROM admin_units "
        "ORDER BY provinceCode, wardCode"
    ):
        yield [code, name, "commune", parent, wlat, wlon, "pull"]


def write(name: str, rows: Iterable[list[object]]) -> int:
    count = 0
    with (OUT / f"{name}.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with dataset() as db:
        print("cao-bang:", write("cao-bang", cao_bang(db)), "sites")
        print("vietnam-2025:", write("vietnam-2025", vietnam_2025(db)), "sites")


if __name__ == "__main__":
    main()
