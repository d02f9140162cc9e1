"""Score extracted facts against the hand-annotated gold set in tests/gold/gold.csv.

A gold figure is found when a fact of the same article overlaps its character span. Used by
tests/test_gold.py and by `python -m tests.goldscore` to print the misses while tuning.
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
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the pipeline on data/raw into a temp DB and print the score and every disagreement."""
    import tempfile

    from etl.jobs.refresh import run
    from etl.paths import RAW_DIR
    from etl.store.schema import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/t.sqlite"
        run(RAW_DIR, Path(tmp), db)
        facts = pd.read_sql_table("facts", make_engine(db))
    result = score(facts, RAW_DIR)
    print(report(result))
    show = "-v" in sys.argv
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


if __name__ == "__main__":
    main()
