"""Knowledge-base search: which way of searching Chinese (and English) finds the right article.

Loads the seed articles (config/kb) into a fresh database and runs the agent queries of
tests/kb/queries.py (each names the article that must come first) with each method:

* ``jieba_tsvector`` — the production search (callcenter.kb.store.ArticleStore.search): jieba
  ``cut_for_search`` words (English: light stemming) in a 'simple' tsvector, title/tags/body
  weighted, each query word's ts_rank times its inverse document frequency.
* ``bigram_tsvector`` — the same query and ranking, but Chinese cut into overlapping character
  pairs instead of jieba words (needs no dictionary).
* ``pg_trgm`` — ``word_similarity(query, title || tags || body)`` of the contrib extension, best
  first; only where the server has it (the machine's PostgreSQL 15 does, the embedded pgserver
  PostgreSQL 16 does not: then reported as unavailable).

    python benchmarks/kb_search.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Prints JSON: {"server", "queries": {set: n}, "methods": {name: {"zh_top1", "en_top1",
"zh_heldout_top1", "en_heldout_top1", "top1", "misses": [...]}, ...}} (top-1 accuracy = share
of queries whose expected article ranks first among the published articles of the query's
language; the held-out sets are paraphrases never tuned against).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from callcenter.kb import text  # noqa: E402
from callcenter.kb.markdown import plain_text  # noqa: E402
from callcenter.kb.store import ArticleStore, seed_articles  # noqa: E402
from callcenter.store.migrate import migrate  # noqa: E402
from tests.kb.queries import EN, EN_HELDOUT, ZH, ZH_HELDOUT  # noqa: E402

Search = Callable[[str, str], Awaitable[list[str]]]

_BIGRAM_SQL = """
WITH candidates AS (
    SELECT id, slug, search FROM kb_bigrams WHERE language = $2
), words AS (
    SELECT plainto_tsquery('simple', w) AS q FROM (SELECT DISTINCT unnest($1::text[]) AS w) AS u
), weighted AS (
    SELECT q, ln(1 + (SELECT count(*) FROM candidates)::float8
                     / greatest(1, (SELECT count(*) FROM candidates c WHERE c.search @@ q))) AS idf
    FROM words WHERE numnode(q) > 0
)
SELECT c.slug, sum(ts_rank('{0.2, 0.3, 0.6, 1.0}', c.search, w.q, 1) * w.idf) AS score
FROM candidates c JOIN weighted w ON c.search @@ w.q
GROUP BY c.id, c.slug ORDER BY score DESC, c.id LIMIT 5
"""

_TRGM_SQL = """
SELECT slug FROM kb_articles
WHERE status = 'published' AND language = $2
ORDER BY word_similarity($1, title || ' ' || array_to_string(tags, ' ') || ' ' || body_md) DESC, id
LIMIT 5
"""


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def build_bigrams(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE kb_bigrams (id bigint, slug text, language text, search tsvector)")
    for row in await pool.fetch("SELECT id, slug, language, title, tags, skills, categories, body_md"
                                " FROM kb_articles WHERE status = 'published'"):
        keys = " ".join([*row["tags"], *row["skills"], *row["categories"]])
        await pool.execute(
            "INSERT INTO kb_bigrams VALUES ($1, $2, $3, setweight(to_tsvector('simple', $4), 'A')"
            " || setweight(to_tsvector('simple', $5), 'B') || to_tsvector('simple', $6))",
            row["id"], row["slug"], row["language"], " ".join(text.bigrams(row["title"])),
            " ".join(text.bigrams(keys)), " ".join(text.bigrams(plain_text(row["body_md"]))))


async def accuracy(search: Search) -> dict[str, Any]:
    out: dict[str, Any] = {"misses": []}
    total = 0
    sets = (("zh", ZH, "zh-CN"), ("en", EN, "en"), ("zh_heldout", ZH_HELDOUT, "zh-CN"),
            ("en_heldout", EN_HELDOUT, "en"))
    for name, queries, language in sets:
        right = 0
        for query, slug in queries:
            found = await search(query, language)
            if found[:1] == [slug]:
                right += 1
            else:
                out["misses"].append({"query": query, "expected": slug, "got": found[:2]})
        out[f"{name}_top1"] = round(right / len(queries), 4)
        total += right
    out["top1"] = round(total / sum(len(q) for _, q, _ in sets), 4)
    return out


async def run(server_url: str) -> dict[str, Any]:
    name = f"kb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pool = await asyncpg.create_pool(with_database(server_url, name), min_size=1, max_size=2)
        try:
            return await measure(pool)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def measure(pool: asyncpg.Pool) -> dict[str, Any]:
    await migrate(pool)
    await seed_articles(pool, ROOT / "config" / "kb")
    await build_bigrams(pool)
    store = ArticleStore(pool)

    async def jieba_search(query: str, language: str) -> list[str]:
        return [h.article.slug for h in await store.search(query, language=language, limit=5)]

    async def bigram_search(query: str, language: str) -> list[str]:
        words = list(dict.fromkeys(text.bigrams(query)))
        return [r["slug"] for r in await pool.fetch(_BIGRAM_SQL, words, language)] if words else []

    async def trgm_search(query: str, language: str) -> list[str]:
        return [r["slug"] for r in await pool.fetch(_TRGM_SQL, query, language)]

    methods: dict[str, Any] = {"jieba_tsvector": await accuracy(jieba_search),
                               "bigram_tsvector": await accuracy(bigram_search)}
    available = await pool.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    if available:
        await pool.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        methods["pg_trgm"] = await accuracy(trgm_search)
    else:
        methods["pg_trgm"] = {"unavailable": "pg_trgm is not installed on this server"}
    return {"server": await pool.fetchval("SHOW server_version"),
            "queries": {"zh": len(ZH), "en": len(EN), "zh_heldout": len(ZH_HELDOUT),
                        "en_heldout": len(EN_HELDOUT)}, "methods": methods}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of the server to create the scratch database on")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.database_url)), ensure_ascii=False))


if __name__ == "__main__":
    main()
