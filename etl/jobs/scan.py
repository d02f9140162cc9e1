"""What is in the raw folder now, compared with what was last published, reading as few files as possible.

A refresh must not re-read ten thousand unchanged articles to find the one new one. Each published article
keeps a row in `article_inputs` with its content hash and a stat key (size, mtime, ctime, inode); a file
whose stat key is unchanged, and was last read well after it was last written, is taken to hold the same
text (as git's index does), and only the others are read and hashed. The outcome (kept articles, duplicates,
manifest problems, unreadable files, files that are not articles) is exactly what `sources.load_articles`
decides for the same folder.

An article must be extracted again when its text, its manifest row, or the extractor (code and reference
data, see `extractor_fingerprint`) changed since it was published.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

from etl.extract.sources import (
    InputLimits,
    ManifestRow,
    Rejection,
    list_inputs,
    load_manifest,
    read_article,
    rejection,
    same_id_rejection,
)
from etl.paths import PROJECT_ROOT, REFERENCE_DIR

RACY_NS = 2_000_000_000  # a file changed this close to our read may have changed again unseen
EXTRACTOR_FOLLOWS = "etl.extract.facts"  # whose etl imports are followed: the extraction code proper
EXTRACTOR_ROOTS = ("etl.extract.sources", "etl.extract.documents", "etl.extract.formats", "etl.extract.html_page",
                   "etl.extract.pdf_layout", "etl.extract.manifest", "etl.jobs.batches",
                   "etl.curate.corrections")  # they shape facts too
# The libraries whose output the facts depend on: numbers (cn2an) and the text read from pages, PDFs, Word files.
EXTRACTOR_PACKAGES = ("cn2an", "trafilatura", "pypdfium2", "python-docx")
REFERENCE_SUFFIXES = (".csv", ".yaml", ".yml")
REFERENCE_SKIP = ("corrections.csv",)  # corrections are compared line by line, not as extractor input


@dataclass(frozen=True)
class InputState:
    """One row of `article_inputs`: what an article's published facts were built from."""

    article_id: str
    file: str
    sha256: str
    manifest_digest: str
    extractor: str
    stat_key: str
    verified_ns: int


@dataclass
class Scan:
    """The raw folder now: every kept article's state, those to extract (`changed`), and what was set aside.

    Texts are not kept: a run over fifty thousand articles reads them again, a batch at a time, to extract.
    """

    states: dict[str, InputState] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    manifest: dict[str, ManifestRow] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    files_read: int = 0


def module_path(root: Path, module: str) -> Path | None:
    """The file of a module of the project (`etl.extract.facts` → etl/extract/facts.py), None if there is none."""
    base = root / module.replace(".", "/")
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _etl_imports(path: Path) -> set[str]:
    """Modules of the etl package a file imports at top level; `from etl.x import y` names both etl.x and
    etl.x.y, which is a module when y is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "etl":
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "etl")
    return found


def extractor_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """The code that decides what facts an article yields: etl.extract.facts and the etl modules it imports,
    directly or not, plus the roots; raises FileNotFoundError when one of those named is gone."""
    missing = [m for m in (EXTRACTOR_FOLLOWS, *EXTRACTOR_ROOTS) if module_path(root, m) is None]
    if missing:
        raise FileNotFoundError(f"the extractor fingerprint names modules that do not exist: {missing}")
    files: set[Path] = {module_path(root, m) for m in EXTRACTOR_ROOTS}
    seen: set[str] = set()
    todo = [EXTRACTOR_FOLLOWS]
    while todo:
        module = todo.pop()
        path = module_path(root, module)
        if module in seen or path is None:
            continue
        seen.add(module)
        files.add(path)
        todo.extend(_etl_imports(path))
    return sorted(files)


def reference_files(reference_dir: Path = REFERENCE_DIR) -> list[Path]:
    """The reference data the extractor reads: every table and YAML file but the corrections."""
    return sorted(p for p in reference_dir.iterdir()
                  if p.suffix in REFERENCE_SUFFIXES and p.name not in REFERENCE_SKIP)


def fingerprint_inputs(root: Path = PROJECT_ROOT, reference_dir: Path = REFERENCE_DIR) -> list[tuple[str, Path]]:
    """Every file the extractor fingerprint hashes, named as it is hashed: code by its path in the project,
    reference data by its file name."""
    code = [(path.relative_to(root).as_posix(), path) for path in extractor_files(root)]
    return code + [(path.name, path) for path in reference_files(reference_dir)]


def extractor_fingerprint(root: Path = PROJECT_ROOT, reference_dir: Path = REFERENCE_DIR) -> str:
    """Hash of the extraction code, the reference data and the versions of the libraries that read numbers
    and documents: same fingerprint, same facts."""
    digest = hashlib.sha256()
    for name, path in fingerprint_inputs(root, reference_dir):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in EXTRACTOR_PACKAGES:
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            digest.update(f"{package}={importlib_metadata.version(package)}".encode())
    return digest.hexdigest()[:32]


def manifest_digest(row: ManifestRow | None) -> str:
    """Hash of what the manifest says about an article ('' when it says nothing)."""
    if row is None:
        return ""
    return hashlib.sha256(repr(row).encode("utf-8")).hexdigest()[:32]


def stat_key(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def scan_raw(raw_dir: Path, previous: dict[str, InputState], extractor: str, full: bool = False,
             published: set[str] | None = None, limits: InputLimits | None = None) -> Scan:
    """Compare the raw folder with `previous`; read only files that are new, changed, or must be re-extracted.

    `published` is the set of article ids in the `articles` table (an article must be there to be skipped);
    `full` reads every file, as a run from scratch does.
    """
    scan = Scan()
    published, limits = published or set(), limits or InputLimits.from_env()
    listed, scan.rejections = list_inputs(raw_dir)
    scan.manifest, problems = load_manifest(raw_dir, [p.name for p, _ in listed])
    scan.rejections.extend(problems)
    seen: dict[str, str] = {}
    ids: dict[str, str] = {}
    for path, st in listed:
        article_id, row = path.stem, scan.manifest.get(path.name)
        if article_id in ids:
            scan.rejections.append(same_id_rejection(path, ids[article_id]))
            continue
        ids[article_id] = path.name
        key, ctime_ns = stat_key(st), st.st_ctime_ns
        before = previous.get(article_id)
        trusted = (not full and before is not None and before.file == path.name and before.stat_key == key
                   and ctime_ns < before.verified_ns - RACY_NS)
        article = None
        if trusted:
            sha256, verified_ns = before.sha256, before.verified_ns
        else:
            verified_ns = time.time_ns()
            try:
                article = read_article(path, row, limits)
            except (OSError, ValueError) as exc:
                scan.rejections.append(rejection(path.name, exc))
                continue
            scan.files_read += 1
            sha256 = article.sha256
        if sha256 in seen:
            scan.rejections.append(Rejection(path.name, "duplicate",
                                             f"{path.name} has the same content as {seen[sha256]}; counted once"))
            continue
        seen[sha256] = path.name
        state = InputState(article_id, path.name, sha256, manifest_digest(row), extractor, key, verified_ns)
        scan.states[article_id] = state
        if full or needs_extraction(state, before, article_id in published):
            scan.changed.add(article_id)
    return scan


def needs_extraction(state: InputState, before: InputState | None, is_published: bool) -> bool:
    """True unless the article was published from the same text, manifest row and extractor."""
    return (before is None or not is_published or before.sha256 != state.sha256 or before.file != state.file
            or before.manifest_digest != state.manifest_digest or before.extractor != state.extractor)
