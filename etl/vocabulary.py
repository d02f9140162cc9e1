"""The domain's closed sets, defined once: every module that checks, filters or labels them imports them here.

Declared data (regions, indicators, units) lives in `data/reference/`; these are the few words the code
itself relies on, so adding one is a code change everywhere they are used, not an edit of a data file.
"""

from __future__ import annotations

# How a figure is worded: as written, a lower or upper bound, an approximation, a plan, a range.
QUALIFIERS = ("exact", "over", "under", "approx", "target", "range")
# The first characters that make a spreadsheet run a cell as a formula (or a DDE payload), and the quote that
# keeps such a text a text: every CSV file, manifest row and workbook cell the project writes uses these.
FORMULA_CHARACTERS = "=+-@\t\r"
FORMULA_QUOTE = "'"
# What span a figure covers, resolved against the publication date.
PERIOD_KINDS = ("year", "partial_year", "as_of", "cumulative", "as_of_publication")
# Which scope decided a figure's period (the nearest that dates it), or that it came from a statistics table.
PERIOD_SOURCES = ("clause", "sentence", "paragraph", "heading", "table", "document", "publication", "statistics")
# How each scope reads to a user, Chinese first: what decided the figure's period.
PERIOD_SOURCE_LABELS = {
    "clause": ("本分句的时间词", "a time word in its clause"),
    "sentence": ("本句的时间词", "a time word in its sentence"),
    "paragraph": ("段首的时间", "the time frame its paragraph opens with"),
    "heading": ("小标题中的年份", "the year in its section heading"),
    "table": ("表头或表题中的时间", "the table's header or caption"),
    "document": ("全文所述年份（标题、文种或年初回顾）", "the document's year (title, type, early-year review)"),
    "publication": ("按发布日期推定", "assumed from the publication date"),
    "statistics": ("统计表所列年份", "the statistics table's year"),
}
# Why the extractor asks for a figure to be reviewed (`review_reason` is "code: detail; code: detail"), in
# the words the workbook prints.
REVIEW_REASON_LABELS = {
    "indicator_unmatched": "指标体系中没有对应的指标",
    "period_assumed": "原文未写明时间，按发布日期推定",
    "date_inferred": "发布日期由正文推定，据此推算的时间可能有误",
    "external_subject": "所述对象在浙江省外",
    "rank_scope_missing": "原文未说明排名的范围",
    "region_ambiguous": "地名对应多个县，附近文字不能确定",
    "region_default": "原文和清单都未写明地区",
    "vague_amount": "原文只给出数量级（数百、数千）",
    "zone_unlisted": "功能区不在地区表中，暂归入其所在地",
}
# Administrative levels of the gazetteer, most to least senior.
LEVELS = ("province", "city", "county", "zone", "town")
LEVEL_LABELS = {"province": ("省", "province"), "city": ("地级市", "city"), "county": ("县（市、区）", "county"),
                "zone": ("功能区", "zone"), "town": ("乡镇（街道）", "town")}
# The fixed indicator families of data/reference/indicators.yaml.
FAMILIES = (
    "talent_total", "skilled_talent", "high_skilled", "rd_intensity", "subsidy_or_fund",
    "graduates_and_young", "high_level_talent", "platforms_and_carriers", "projects_and_investment",
    "ranking_or_index", "services_and_housing", "events_and_activities", "economy_output", "other",
)

# A fact's review status; corrections set `corrected` or `rejected`.
STATUSES = ("extracted", "needs_review", "corrected", "rejected")
LIVE_STATUSES = ("extracted", "needs_review", "corrected")  # the facts per-capita values are computed from
NON_CURRENT_STATUSES = ("rejected", "retired")  # left out of everything readers see

# Where a fact comes from; a statistics table's `articles` row has published_source = STATISTICS too.
ARTICLE = "article"
STATISTICS = "statistics"
SOURCE_KINDS = (ARTICLE, STATISTICS)  # derived per-capita values live in derived_facts
# What kind of page or paper a figure was read from. Statistics rows say it themselves (population.csv's
# `source_tier`); an article's figures are press reports. Only `official` may be called 官方统计.
PRESS = "press"
SOURCE_TIERS = ("official", "official_repost", "secondary", "unverified", PRESS)
SOURCE_TIER_LABELS = {
    "official": ("官方统计", "official statistics"),
    "official_repost": ("官方公报转载", "official bulletin, reposted"),
    "secondary": ("二手来源", "secondary source"),
    "unverified": ("来源未核实", "unverified source"),
    PRESS: ("新闻报道", "press report"),
}
# The mark beside a figure wherever colour alone cannot say where it comes from (a press report has none).
SOURCE_TIER_MARKS = {"official": "▣", "official_repost": "□", "secondary": "◇", "unverified": "？", PRESS: ""}
NO_SOURCE = ("来源未注明", "source not stated")  # an article whose manifest names no outlet or URL
# Period kinds by what they measure: a stock at a date, a flow over a calendar year, a flow over part of a
# year, a running total over several years. A per-capita rate divides only an annual flow or a stock.
STOCK_KINDS = ("as_of", "as_of_publication")
RATE_NUMERATOR_KINDS = ("year", *STOCK_KINDS)
# Units whose values may be negative: rates and changes (人口自然增长率为-6.8‰, 下降2.9%).
SIGNED_UNITS = ("percent", "per_mille", "percentage_point")

# The columns of the facts table, in order (etl.store.schema declares their types; a test keeps them equal).
FACT_COLUMNS = [
    "fact_id", "article_id", "region_code", "region_name", "region_level", "indicator_code",
    "indicator_name_zh", "indicator_name_en", "family", "value", "value_high", "unit", "qualifier",
    "period_start", "period_end", "period_kind", "year", "quote", "char_start", "char_end", "quote_start",
    "quote_end", "number_text", "region_source", "period_source", "status", "review_reason", "source_kind", "source_title",
    "source_url", "source_tier",
]

# The kinds of file data/raw takes as articles, by file extension (etl.extract.formats reads each).
ARTICLE_FORMATS = {".txt": "txt", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
# Where an article's publication date came from, most trusted first; a statistics table's row says STATISTICS.
PUBLISHED_SOURCES = ("manifest", "metadata", "url", "inferred", STATISTICS)
PUBLISHED_SOURCE_LABELS = {
    "manifest": ("清单所填", "the manifest"),
    "metadata": ("网页或文件自带的元数据", "the page's or file's own metadata"),
    "url": ("网址中的日期", "the date in its URL"),
    "inferred": ("按正文推定", "inferred from the text"),
    STATISTICS: ("统计表", "the statistics table"),
}
