"""A synthetic curated database of any size, for speed tests and for developing views without the ETL.

Regions, indicators and units are the real reference data; facts, articles and runs are random but shaped
like the real ones (qualifiers, needs_review, several quotes per region and year). Official statistics
(resident population and GDP of most cities and counties, some years missing) are added, and the derived
per-capita table and the cross-check are computed from them by `etl.curate.percapita`, as the pipeline does.
Never used by the app itself: `python -m dashboard.synthetic --facts 100000 --db sqlite:////tmp/big.sqlite`.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import yaml

from etl.curate.percapita import crosscheck, derive
from etl.extract.indicators import load_taxonomy
from etl.paths import REFERENCE_DIR
from etl.store.publish import write_tables
from etl.store.schema import make_engine, runs
from etl.vocabulary import ARTICLE, FACT_COLUMNS, PRESS, STATISTICS

QUALIFIER_WEIGHTS = {"exact": 70, "over": 12, "approx": 8, "under": 4, "target": 4, "range": 2}
QUALIFIER_WORD = {"exact": "", "over": "超", "approx": "约", "under": "最高", "target": "力争", "range": ""}
TYPICAL = {"person": (50, 2_000_000), "person_time": (100, 500_000), "yuan": (1e4, 5e10), "percent": (0.5, 60),
           "percentage_point": (0.1, 10), "count": (1, 3000), "rank": (1, 90), "index": (50, 120),
           "month": (1, 12), "day": (1, 30), "mu": (10, 5000), "square_meter": (100, 500000), "km": (1, 200),
           "times": (1, 10), "per_10k": (100, 4000)}


def reference_tables(reference_dir: Path = REFERENCE_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real regions and indicators tables, read straight from the reference files."""
    regions = pd.read_csv(reference_dir / "regions.csv", dtype=str, keep_default_na=False)
    regions["official"] = regions["official"].str.lower() == "true"
    with open(reference_dir / "indicators.yaml", encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    families = document["families"]
    indicators = pd.DataFrame([{
        "code": i["code"], "name_zh": i["name_zh"], "name_en": i["name_en"], "family": i["family"],
        "family_name_zh": families[i["family"]]["name_zh"], "family_name_en": families[i["family"]]["name_en"],
        "unit": i["unit"], "headline": bool(i.get("headline", False)), "description": i.get("description", ""),
    } for i in document["indicators"]])
    return regions[["code", "name_zh", "name_en", "level", "parent_code", "aliases", "official", "note"]], indicators


def synthetic_tables(n_facts: int, seed: int = 7, n_articles: int | None = None) -> dict[str, pd.DataFrame]:
    """Curated tables with `n_facts` random but plausible facts."""
    rng = random.Random(seed)
    regions, indicators = reference_tables()
    n_articles = n_articles or max(5, n_facts // 40)
    places = Places(regions.to_dict("records"))
    articles = [synthetic_article(rng, places, seed, k) for k in range(n_articles)]
    ind_rows = indicators.to_dict("records")
    facts = [synthetic_fact(rng, places, ind_rows, articles[n % n_articles], n) for n in range(n_facts)]
    facts += official_statistics(regions, rng)
    frame = pd.DataFrame(facts, columns=FACT_COLUMNS)
    for column in [c for c in FACT_COLUMNS if facts and c not in facts[0]]:
        frame[column] = frame[column].astype(object).fillna("")  # columns later schemas add are text, "" default
    taxonomy = load_taxonomy()
    if STATISTICS_ID in set(frame["article_id"]):
        articles.append({**articles[0], "article_id": STATISTICS_ID, "file": "statistics/synthetic.csv",
                         "title": "统计数据表 Statistics table: synthetic.csv", "outlet": "统计公报及其转载、汇编",
                         "published_source": STATISTICS})
    return {
        "facts": frame,
        "derived_facts": derive(frame, taxonomy),
        "crosscheck": crosscheck(frame, taxonomy),
        "articles": pd.DataFrame(articles),
        "regions": regions,
        "indicators": indicators,
        "rejected_inputs": pd.DataFrame(columns=["file", "reason", "detail", "detected_at"]),
    }


class Places:
    """The regions with the weights a synthetic figure picks them by (cities most often)."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows
        self.weights = [{"province": 3, "city": 12, "county": 5, "zone": 2, "town": 1}[r["level"]] for r in rows]

    def pick(self, rng: random.Random) -> dict:
        return rng.choices(self.rows, self.weights)[0]


def synthetic_article(rng: random.Random, places: Places, seed: int, k: int) -> dict:
    """The `articles` row of synthetic article k, published some day of 2019–2025."""
    published = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 7 * 365))
    region = places.pick(rng)
    sha = hashlib.sha256(f"article-{seed}-{k}".encode()).hexdigest()
    return {
        "article_id": f"syn_{k:06d}", "file": f"syn_{k:06d}.txt", "sha256": sha,
        "title": f"{region['name_zh']}人才工作综述（{k}）", "outlet": rng.choice(["浙江日报", "嘉兴日报", "衢州日报", "杭州日报"]),
        "published": published, "published_precision": "day", "published_source": "manifest",
        "published_note": "", "primary_region_code": region["code"], "primary_region_name": region["name_zh"],
        "encoding": "utf-8", "n_chars": 3000, "n_facts": 0,
    }


def synthetic_fact(rng: random.Random, places: Places, indicators: list[dict], article: dict, n: int) -> dict:
    """Fact n: a random region and indicator, a value typical of its unit, some qualifier, the article's year
    or the one before."""
    region = places.pick(rng)
    indicator = indicators[rng.randrange(len(indicators))]
    low, high = TYPICAL.get(indicator["unit"], (1, 1000))
    value = round(rng.uniform(low, high), 2 if indicator["unit"] in ("percent", "percentage_point") else 0)
    qualifier = rng.choices(list(QUALIFIER_WEIGHTS), list(QUALIFIER_WEIGHTS.values()))[0]
    value_high = round(value * 1.5, 2) if qualifier == "range" else None
    year = article["published"].year - (1 if rng.random() < 0.3 else 0)
    number_text = QUALIFIER_WORD[qualifier] + f"{value:f}".rstrip("0").rstrip(".")
    quote = f"{region['name_zh']}{indicator['name_zh']}{number_text}，持续走在全省前列。"
    char_start = 100 + (n % 2000)
    return {
        "fact_id": hashlib.sha1(f"{article['sha256']}:{char_start}:{n}".encode()).hexdigest()[:16],
        "article_id": article["article_id"], "region_code": region["code"], "region_name": region["name_zh"],
        "region_level": region["level"], "indicator_code": indicator["code"],
        "indicator_name_zh": indicator["name_zh"], "indicator_name_en": indicator["name_en"],
        "family": indicator["family"], "value": float(value), "value_high": value_high,
        "unit": indicator["unit"], "qualifier": qualifier, "period_start": f"{year}-01-01",
        "period_end": f"{year}-12-31", "period_kind": "year", "year": year, "quote": quote,
        "char_start": char_start, "char_end": char_start + len(number_text), "quote_start": char_start - 10,
        "quote_end": char_start + 20, "number_text": number_text, "region_source": "sentence",
        "status": "needs_review" if rng.random() < 0.1 else "extracted",
        "review_reason": "", "source_kind": ARTICLE, "source_tier": PRESS,
    }


STATISTICS_ID = "statistics/synthetic"
TABLE_TIERS = ("official", "official_repost", "secondary", "unverified")
OFFICIAL = {"resident_population": ("person", 2e5, 1.3e7), "gdp": ("yuan", 1e10, 2.5e12)}


def official_statistics(regions: pd.DataFrame, rng: random.Random) -> list[dict]:
    """Resident population and GDP of most cities and counties for 2019–2025, a few years missing."""
    rows = []
    for region in regions[regions["level"].isin(["province", "city", "county"])].to_dict("records"):
        if rng.random() < 0.15:
            continue  # some regions publish nothing: their rates cannot be computed
        for code, (unit, low, high) in OFFICIAL.items():
            base = rng.uniform(low, high)
            for year in range(2019, 2026):
                if rng.random() < 0.25:
                    continue
                value = round(base * (1 + 0.02 * (year - 2019)), 0)
                digest = hashlib.sha1(f"stat:{region['code']}:{code}:{year}".encode()).hexdigest()[:16]
                rows.append({
                    "fact_id": digest, "article_id": STATISTICS_ID, "region_code": region["code"],
                    "region_name": region["name_zh"], "region_level": region["level"], "indicator_code": code,
                    "indicator_name_zh": "常住人口（年末）" if code == "resident_population" else "地区生产总值",
                    "indicator_name_en": code, "family": "other" if code == "resident_population" else "economy_output",
                    "value": value, "value_high": None, "unit": unit, "qualifier": "exact",
                    "period_start": f"{year}-12-31", "period_end": f"{year}-12-31", "period_kind": "as_of",
                    "year": year, "quote": f"{region['name_zh']} {value:.0f}", "char_start": 0, "char_end": 1,
                    "quote_start": 0, "quote_end": 1, "number_text": f"{value:.0f}", "region_source": STATISTICS,
                    "status": "extracted", "review_reason": "", "source_kind": STATISTICS,
                    "source_title": f"{year}年{region['name_zh']}统计公报（合成 synthetic）",
                    "source_url": f"http://127.0.0.1/synthetic/{region['code']}/{year}",
                    "source_tier": TABLE_TIERS[int(digest, 16) % len(TABLE_TIERS)],  # no draw: the others stay
                })
    return rows


def write_synthetic(db_url: str, n_facts: int, seed: int = 7) -> None:
    """Write the synthetic tables and one successful run to `db_url`."""
    engine = make_engine(db_url)
    write_tables(engine, synthetic_tables(n_facts, seed))
    now = pd.Timestamp.now(tz="UTC")
    with engine.begin() as conn:
        conn.execute(runs.insert().values(kind="run", started_at=now, finished_at=now, outcome="success",
                                          facts_total=n_facts, message="synthetic data", error=""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.synthetic", description=__doc__)
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--db", required=True, help="database URL to write, e.g. sqlite:////tmp/big.sqlite")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write_synthetic(args.db, args.facts, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
