"""A synthetic corpus: the seed articles re-located to other regions and re-dated to other years.

Article k takes seed `k % 5`, swaps every name and alias of the seed's primary region for those of another
region of the same level from the gazetteer (`data/reference/regions.csv` + `aliases_extra.csv`), shifts
the manifest date and every explicit year (2024年 → 2019年) by the same number of years, and ends with a
letters-only serial line so no two articles hash alike (the ETL counts duplicates once).
"""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from etl.extract.sources import MANIFEST_COLUMNS, MANIFEST_NAME, Article, load_articles
from etl.paths import RAW_DIR, REFERENCE_DIR

GENERATOR_VERSION = 2
FIRST_YEAR, LAST_YEAR = 2016, 2025
EXPLICIT_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=\s*(?:年|—|-|～|~|至))")
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Place:
    code: str
    name_zh: str
    level: str
    aliases: tuple[str, ...]

    @property
    def short(self) -> str:
        """The everyday short name (嘉兴 for 嘉兴市), else the full name."""
        return self.aliases[0] if self.aliases else self.name_zh


def load_places(reference_dir: Path = REFERENCE_DIR) -> list[Place]:
    """Official cities and counties with their aliases (including the literary ones)."""
    extra: dict[str, list[str]] = {}
    extra_path = reference_dir / "aliases_extra.csv"
    if extra_path.exists():
        with extra_path.open(encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                extra.setdefault(row["code"], []).append(row["alias"])
    places = []
    with (reference_dir / "regions.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if row["level"] not in ("city", "county") or row["official"].lower() != "true":
                continue
            aliases = tuple(a for a in row["aliases"].split("|") if a)
            places.append(Place(row["code"], row["name_zh"], row["level"], aliases + tuple(extra.get(row["code"], []))))
    return places


def serial(k: int) -> str:
    """A letters-only code for k (no digits, so the ETL finds no number in it)."""
    out = ""
    k += len(LETTERS) ** 3
    while k:
        k, r = divmod(k, len(LETTERS))
        out = LETTERS[r] + out
    return out


class Relocator:
    """Rewrites one seed article as if it were about `target` and published `shift` years apart."""

    def __init__(self, seed: Article, source: Place):
        self.seed = seed
        self.source = source
        names = sorted({source.name_zh, *source.aliases}, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(n) for n in names))

    def replacement(self, target: Place) -> dict[str, str]:
        mapping = {self.source.name_zh: target.name_zh}
        for alias in self.source.aliases:
            mapping[alias] = target.short
        return mapping

    def rewrite(self, text: str, target: Place, shift: int) -> str:
        mapping = self.replacement(target)
        text = self.pattern.sub(lambda m: mapping[m.group(0)], text)
        if shift:
            text = EXPLICIT_YEAR.sub(lambda m: str(int(m.group(1)) + shift), text)
        return text


def _published(seed: Article, shift: int) -> str:
    year = seed.published.year + shift
    if seed.published_precision == "year":
        return f"{year}"
    if seed.published_precision == "month":
        return f"{year}-{seed.published.month:02d}"
    day = min(seed.published.day, 28)
    return f"{year}-{seed.published.month:02d}-{day:02d}"


def build_corpus(target_dir: Path, size: int, seed: int = 20240928, start: int = 0,
                 raw_dir: Path = RAW_DIR, append: bool = False) -> Path:
    """Write articles start..start+size-1 (and their manifest rows) into target_dir; returns target_dir.

    Deterministic: article k is the same text whatever `size` and `start` are, so a refresh benchmark can
    add articles 10000..10099 to a 10,000-article corpus.
    """
    seeds = load_articles(raw_dir).articles
    places = load_places()
    by_name = {}
    for place in places:
        for name in (place.name_zh, *place.aliases):
            by_name.setdefault(name, place)
    relocators = []
    for article in seeds:
        source = by_name.get(article.primary_region)
        if source is None:
            raise ValueError(f"seed {article.file}: primary region {article.primary_region!r} not in the gazetteer")
        relocators.append(Relocator(article, source))
    if not append and target_dir.exists():
        shutil.rmtree(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    manifest = target_dir / MANIFEST_NAME
    new_manifest = not manifest.exists()
    with manifest.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if new_manifest:
            writer.writerow(MANIFEST_COLUMNS)
        for k in range(start, start + size):
            row, text = synthetic_article(k, relocators, places, seed)
            (target_dir / row[0]).write_text(text, encoding="utf-8")
            writer.writerow(row)
    return target_dir


def synthetic_article(k: int, relocators: list[Relocator], places: list[Place], seed: int) -> tuple[list[str], str]:
    """The manifest row and text of synthetic article k."""
    rng = random.Random(seed * 1_000_003 + k)
    relocator = relocators[k % len(relocators)]
    source = relocator.source
    same_level = [p for p in places if p.level == source.level]
    target = same_level[rng.randrange(len(same_level))]
    article = relocator.seed
    shift = rng.randint(FIRST_YEAR - article.published.year, LAST_YEAR - article.published.year)
    text = relocator.rewrite(article.text, target, shift)
    text = text.rstrip("\n") + f"\n\n（稿件编号 ZJ-{serial(k)}）\n"
    name = f"syn{k:06d}_{Path(article.file).stem[:3]}.txt"
    title = relocator.rewrite(article.title, target, shift)
    row = [name, title, article.outlet, _published(article, shift),
           f"synthetic: seed {article.file} moved to {target.name_zh}, {shift:+d} years", target.name_zh, ""]
    return row, text


def ensure_corpus(workdir: Path, size: int, seed: int = 20240928) -> Path:
    """The corpus of `size` articles under workdir, built once and reused while the generator is unchanged."""
    target = workdir / f"corpus-{size}"
    stamp = target / ".corpus.json"
    wanted = {"size": size, "seed": seed, "version": GENERATOR_VERSION}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return target
    build_corpus(target, size, seed)
    stamp.write_text(json.dumps(wanted))
    return target
