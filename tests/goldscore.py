"""Score extracted facts against the hand-annotated gold sets.

Two sets, two anchors. The seed articles' gold (tests/gold/gold.csv) names each figure by its exact
number text and occurrence: a figure is found when a fact overlaps that span. The development set of
real articles (tests/dev_corpus, as the project is judged on unseen articles) names each figure by a short
quote around it: a figure is found when a fact of the same value has a quote overlapping it. Used by
tests/test_gold.py and tests/test_dev_corpus.py, and by `python -m tests.goldscore [--dev] -v` to print
every miss and disagreement.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

GOLD_PATH = Path(__file__).resolve().parent / "gold" / "gold.csv"


@dataclass
class Score:
    gold: int
    facts: int
    matched_gold: int
    matched_facts: int
    headline_gold: int
    headline_matched: int
    region_right: int
    year_right: int
    value_right: int
    unit_right: int
    family_right: int
    qualifier_right: int
    misses: pd.DataFrame
    false_positives: pd.DataFrame
    pairs: pd.DataFrame

    @property
    def recall(self) -> float:
        return self.matched_gold / self.gold

    @property
    def precision(self) -> float:
        return self.matched_facts / self.facts

    @property
    def headline_recall(self) -> float:
        return self.headline_matched / self.headline_gold

    def share(self, right: int) -> float:
        return right / max(1, len(self.pairs))


def gold_spans(gold: pd.DataFrame, raw_dir: Path) -> pd.DataFrame:
    """Gold rows with char_start/char_end resolved from number_text and its occurrence."""
    texts: dict[str, str] = {}
    starts, ends = [], []
    for row in gold.itertuples():
        if row.article not in texts:
            data = (raw_dir / f"{row.article}.txt").read_bytes()
            texts[row.article] = data.decode("utf-8-sig")
        text, pos = texts[row.article], -1
        for _ in range(int(row.occurrence)):
            pos = text.find(row.number_text, pos + 1)
        if pos < 0:
            raise ValueError(f"gold row {row.article} {row.number_text!r} #{row.occurrence} not in the text")
        starts.append(pos)
        ends.append(pos + len(row.number_text))
    return gold.assign(char_start=starts, char_end=ends)


def score(facts: pd.DataFrame, raw_dir: Path, gold_path: Path = GOLD_PATH) -> Score:
    facts = facts[facts["source_kind"] == "article"]
    gold = gold_spans(pd.read_csv(gold_path, dtype={"region_code": str}), raw_dir)
    gold = gold[gold["article"].isin(set(facts["article_id"]))].reset_index(drop=True)
    facts = facts.reset_index(drop=True)
    pairs = []
    for gi, g in gold.iterrows():
        same = facts[(facts["article_id"] == g["article"]) & (facts["char_start"] < g["char_end"])
                     & (facts["char_end"] > g["char_start"])]
        for fi in same.index:
            pairs.append((gi, fi))
    matched_gold = {g for g, _ in pairs}
    matched_facts = {f for _, f in pairs}
    first = {}
    for g, f in pairs:
        first.setdefault(g, f)
    joined = pd.DataFrame([{**{f"gold_{k}": v for k, v in gold.loc[g].items()},
                            **{f"fact_{k}": v for k, v in facts.loc[f].items()}} for g, f in first.items()])
    if joined.empty:
        joined = pd.DataFrame(columns=["gold_region_code", "fact_region_code", "gold_year", "fact_year",
                                       "gold_value", "fact_value", "gold_unit", "fact_unit", "gold_family",
                                       "fact_family", "gold_qualifier", "fact_qualifier"])

    def agree(column: str, cmp=lambda a, b: a == b) -> int:
        return int(sum(cmp(a, b) for a, b in zip(joined[f"gold_{column}"], joined[f"fact_{column}"], strict=True)))

    headline = gold["headline"] == 1
    return Score(
        gold=len(gold), facts=len(facts), matched_gold=len(matched_gold), matched_facts=len(matched_facts),
        headline_gold=int(headline.sum()),
        headline_matched=int(sum(1 for g in gold.index[headline] if g in matched_gold)),
        region_right=agree("region_code", lambda a, b: str(a) == str(b)),
        year_right=agree("year", lambda a, b: int(a) == int(b)),
        value_right=agree("value", lambda a, b: abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))),
        unit_right=agree("unit"), family_right=agree("family"), qualifier_right=agree("qualifier"),
        misses=gold.drop(index=list(matched_gold)),
        false_positives=facts.drop(index=list(matched_facts)),
        pairs=joined,
    )


def report(result: Score) -> str:
    lines = [
        f"gold {result.gold}  facts {result.facts}",
        f"recall {result.recall:.3f}  precision {result.precision:.3f}  headline recall {result.headline_recall:.3f}",
        f"of matched: region {result.share(result.region_right):.3f}  year {result.share(result.year_right):.3f}  "
        f"value {result.share(result.value_right):.3f}  unit {result.share(result.unit_right):.3f}  "
        f"family {result.share(result.family_right):.3f}  qualifier {result.share(result.qualifier_right):.3f}",
        per_article(result).to_string(index=False, float_format="%.2f"),
    ]
    return "\n".join(lines)


def per_article(result: Score) -> pd.DataFrame:
    """Recall, precision and region and year right, article by article."""
    pairs = result.pairs
    rows = []
    for article in sorted(set(pairs["gold_article"]) | set(result.misses["article"])):
        mine = pairs[pairs["gold_article"] == article]
        gold = len(mine) + int((result.misses["article"] == article).sum())
        extra = int((result.false_positives["article_id"] == article).sum())
        found = len(mine)
        rows.append(dict(article=article, gold=gold, found=found, recall=found / max(1, gold),
                         precision=found / max(1, found + extra),
                         region_right=float((mine["gold_region_code"].astype(str) == mine["fact_region_code"].astype(str)).mean()) if found else 0.0,
                         year_right=float((mine["gold_year"].astype(int) == mine["fact_year"].astype(int)).mean()) if found else 0.0))
    return pd.DataFrame(rows)


def run_facts(raw_dir: Path) -> pd.DataFrame:
    """The facts a real run of the pipeline publishes for a raw folder (into a throwaway SQLite file)."""
    import tempfile

    from etl.jobs.refresh import run
    from etl.store.schema import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/t.sqlite"
        run(raw_dir, Path(tmp), db)
        return pd.read_sql_table("facts", make_engine(db))


def dev_raw(target: Path) -> Path:
    """A raw folder with the development set's articles and its own manifest, as a user would bring them."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    for path in (DEV_DIR / "articles").glob("*.txt"):
        shutil.copy(path, target / path.name)
    shutil.copy(DEV_DIR / "manifest.csv", target / "manifest.csv")
    return target


def main() -> None:
    """Run the pipeline on data/raw (or, with --dev, the development set) and print the score and every
    disagreement."""
    import tempfile

    from etl.paths import RAW_DIR

    show = "-v" in sys.argv
    if "--dev" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            result = score_quotes(run_facts(dev_raw(Path(tmp) / "raw")))
        print(quote_report(result))
        if show:
            for g in result.missed:
                print("missed:", g["article"], g["region"], g["indicator_zh"], g["value"], "|", g["quote"])
            for line in result.wrong:
                print("wrong (got/gold):", line)
            for f in result.extra:
                print("extra:", f["article_id"], f["region_name"], f["indicator_code"], f["number_text"], "|",
                      f["quote"][:70])
        return
    result = score(run_facts(RAW_DIR), RAW_DIR)
    print(report(result))
    if show:
        print("\nMISSES")
        for r in result.misses.itertuples():
            print(f"  {r.article[:3]} {r.number_text} [{r.family}] {r.note if isinstance(r.note, str) else ''}")
        print("\nFALSE POSITIVES")
        for r in result.false_positives.itertuples():
            print(f"  {r.article_id[:3]} {r.number_text} {r.indicator_code} | {r.quote[:60]}")
        p = result.pairs
        for col in ("region_code", "year", "value", "unit", "family", "qualifier"):
            bad = p[[str(a) != str(b) for a, b in zip(p[f"gold_{col}"], p[f"fact_{col}"], strict=True)]]
            if col == "value":
                bad = bad[[abs(float(a) - float(b)) > 1e-6 * max(1, abs(float(a)))
                           for a, b in zip(bad["gold_value"], bad["fact_value"], strict=True)]]
            if col == "year":
                bad = bad[[int(a) != int(b) for a, b in zip(bad["gold_year"], bad["fact_year"], strict=True)]]
            print(f"\n{col.upper()} DISAGREEMENTS ({len(bad)})")
            for r in bad.itertuples():
                d = r._asdict()
                print(f"  {d['gold_article'][:3]} {d['gold_number_text']}: gold {d['gold_' + col]} fact {d['fact_' + col]}"
                      f" ({d['fact_indicator_code']}) | {d['fact_quote'][:50]}")



# --- quote-anchored gold (tests/dev_corpus): real articles annotated as the project is judged ---------------

DEV_DIR = Path(__file__).resolve().parent / "dev_corpus"
DEV_HEADLINE = {"talent_total", "skilled_talent", "high_skilled", "rd_intensity", "subsidy_or_fund"}
# Places renamed by a change of division: either name counts as right.
RENAMED = {"钱塘新区": "钱塘区", "杭州钱塘新区": "钱塘区"}
VALUE_TOLERANCE = 0.005


@dataclass
class QuoteScore:
    """Recall, precision and the region and year of the found figures, in total and per article."""

    per_article: pd.DataFrame  # article, gold, found, facts, matched_facts, headline_gold, headline_found, region, year
    missed: list[dict]
    wrong: list[str]
    extra: list[dict]

    def total(self, column: str) -> int:
        return int(self.per_article[column].sum())

    @property
    def recall(self) -> float:
        return self.total("found") / max(1, self.total("gold"))

    @property
    def precision(self) -> float:
        return self.total("matched_facts") / max(1, self.total("facts"))

    @property
    def headline_recall(self) -> float:
        return self.total("headline_found") / max(1, self.total("headline_gold"))

    @property
    def region_right(self) -> float:
        return self.total("region") / max(1, self.total("found"))

    @property
    def year_right(self) -> float:
        return self.total("year") / max(1, self.total("found"))


def _squeezed(text: str) -> tuple[str, list[int]]:
    """The text without whitespace, and for each kept character its offset in the text."""
    kept = [(i, c) for i, c in enumerate(text) if not c.isspace()]
    return "".join(c for _, c in kept), [i for i, _ in kept]


def quote_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Raw spans where `quote` occurs in `text`, whitespace ignored on both sides."""
    squeezed, offsets = _squeezed(text)
    needle = "".join(quote.split())
    spans, at = [], squeezed.find(needle) if needle else -1
    while at >= 0:
        spans.append((offsets[at], offsets[at + len(needle) - 1] + 1))
        at = squeezed.find(needle, at + 1)
    return spans


def _place(name: object) -> str:
    name = "".join(str(name if isinstance(name, str) else "").split())
    return RENAMED.get(name, name)


def score_quotes(facts: pd.DataFrame, gold_path: Path = DEV_DIR / "gold.csv",
                 articles_dir: Path = DEV_DIR / "articles") -> QuoteScore:
    """A gold row is found when a fact of its article has the same absolute value (0.5% tolerance) and a
    quote overlapping the gold quote's place; each fact answers one gold row. Facts from statistics tables
    are not extractions and are left out."""
    facts = facts[facts["source_kind"] == "article"].reset_index(drop=True)
    gold = pd.read_csv(gold_path, dtype=str, keep_default_na=False)
    texts = {p.stem: p.read_bytes().decode("utf-8-sig") for p in sorted(articles_dir.glob("*.txt"))}
    used: set[int] = set()
    rows, missed, wrong = {}, [], []
    for article in sorted(texts):
        rows[article] = dict(article=article, gold=0, found=0, facts=int((facts["article_id"] == article).sum()),
                             matched_facts=0, headline_gold=0, headline_found=0, region=0, year=0)
    for g in gold.itertuples():
        row = rows[g.article]
        row["gold"] += 1
        row["headline_gold"] += g.family in DEV_HEADLINE
        spans = quote_spans(texts[g.article], g.quote)
        value = abs(float(g.value))
        candidates = facts[(facts["article_id"] == g.article)]
        match = next((i for i, f in candidates.iterrows() if i not in used
                      and abs(abs(f["value"]) - value) <= VALUE_TOLERANCE * max(1.0, value)
                      and any(f["quote_start"] < end and start < f["quote_end"] for start, end in spans)), None)
        if match is None:
            missed.append(g._asdict())
            continue
        used.add(match)
        fact = facts.loc[match]
        row["found"] += 1
        row["matched_facts"] += 1
        row["headline_found"] += g.family in DEV_HEADLINE
        region_ok = _place(fact["region_name"]) == _place(g.region)
        gold_year = (g.period_end or g.period_start)[:4]
        year_ok = str(int(fact["year"])) == gold_year
        row["region"] += region_ok
        row["year"] += year_ok
        if not (region_ok and year_ok):
            wrong.append(f"{g.article} region {fact['region_name']}/{g.region} year {fact['year']}/{gold_year} "
                         f"{g.indicator_zh} {g.value} | {g.quote[:60]}")
    extra = [facts.loc[i].to_dict() for i in facts.index if i not in used]
    return QuoteScore(pd.DataFrame(list(rows.values())), missed, wrong, extra)


def quote_report(result: QuoteScore) -> str:
    """Per article and in total: recall, precision, headline recall, region and year right."""
    table = result.per_article.assign(
        recall=lambda d: d["found"] / d["gold"].clip(lower=1),
        precision=lambda d: d["matched_facts"] / d["facts"].clip(lower=1),
        region_right=lambda d: d["region"] / d["found"].clip(lower=1),
        year_right=lambda d: d["year"] / d["found"].clip(lower=1))
    lines = [table[["article", "gold", "facts", "found", "recall", "precision", "region_right", "year_right"]]
             .to_string(index=False, float_format="%.2f")]
    lines.append(f"total: recall {result.recall:.3f}  precision {result.precision:.3f}  "
                 f"headline recall {result.headline_recall:.3f}  region right {result.region_right:.3f}  "
                 f"year right {result.year_right:.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
