"""Articles in PostgreSQL: create, edit (each save is a new version), publish, search, suggest,
and the record of suggestions and views (see migrations/008_kb.sql)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import yaml

from callcenter.kb import text
from callcenter.kb.markdown import plain_text
from callcenter.kb.suggest import Signals

LANGUAGES = ("en", "zh-CN")
STATUSES = ("draft", "published")
SOURCES = ("suggestion", "search", "browse")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_LABEL = re.compile(r"^[\w .\-/]{1,40}$")
_COLUMNS = ("id, slug, language, title, body_md, tags, skills, categories, status, version,"
            " updated_by, created_at, updated_at, published_at")


class KbError(ValueError):
    """Bad article data or an impossible change; ``error_id`` is stable for API clients."""

    def __init__(self, message: str, error_id: str = "bad_article") -> None:
        super().__init__(message)
        self.error_id = error_id


class NotFound(KbError):
    def __init__(self, message: str = "no such article") -> None:
        super().__init__(message, "not_found")


@dataclass(frozen=True)
class ArticleInput:
    """What an editor sends; normalised and checked by :meth:`parse`."""

    slug: str
    language: str
    title: str
    body_md: str
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: Any) -> ArticleInput:
        """Raises:
            KbError: naming the bad field."""
        if not isinstance(data, dict):
            raise KbError("an article must be a JSON object")

        def field(name: str, limit: int) -> str:
            value = data.get(name)
            if not isinstance(value, str) or not value.strip():
                raise KbError(f"{name} is required (text)")
            if len(value) > limit:
                raise KbError(f"{name} is longer than {limit} characters")
            return value.strip()

        def labels(name: str) -> tuple[str, ...]:
            value = data.get(name, [])
            if isinstance(value, str):
                value = [v for v in value.split(",")]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise KbError(f"{name} must be a list of text")
            out = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
            bad = [v for v in out if not _LABEL.match(v)]
            if bad or len(out) > 20:
                raise KbError(f"{name}: at most 20 labels of up to 40 letters, digits, spaces or"
                              f" .-/ (bad: {bad[:3]})")
            return out

        slug = field("slug", 80).lower()
        if not _SLUG.match(slug):
            raise KbError("slug: lower-case letters, digits and '-' only")
        language = field("language", 10)
        if language not in LANGUAGES:
            raise KbError(f"language must be one of {', '.join(LANGUAGES)}")
        return cls(slug, language, field("title", 200), field("body_md", 100_000), labels("tags"),
                   labels("skills"), labels("categories"))

    def search_columns(self) -> tuple[str, str, str]:
        keys = " ".join((*self.tags, *self.skills, *self.categories)).replace("_", " ")
        return (text.joined(text.tokens(self.title)), text.joined(text.tokens(keys)),
                text.joined(text.tokens(plain_text(self.body_md))))


@dataclass(frozen=True)
class Article:
    id: int
    slug: str
    language: str
    title: str
    body_md: str
    tags: tuple[str, ...]
    skills: tuple[str, ...]
    categories: tuple[str, ...]
    status: str
    version: int
    updated_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("created_at", "updated_at", "published_at"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        for key in ("tags", "skills", "categories"):
            out[key] = list(out[key])
        return out


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    snippet: str

    def to_json(self) -> dict[str, Any]:
        a = self.article
        return {"id": a.id, "slug": a.slug, "language": a.language, "title": a.title,
                "tags": list(a.tags), "skills": list(a.skills), "version": a.version,
                "score": round(self.score, 5), "snippet": self.snippet}


def _article(row: asyncpg.Record) -> Article:
    return Article(row["id"], row["slug"], row["language"], row["title"], row["body_md"],
                   tuple(row["tags"]), tuple(row["skills"]), tuple(row["categories"]), row["status"],
                   row["version"], row["updated_by"], row["created_at"], row["updated_at"],
                   row["published_at"])


def _snippet(body_md: str, limit: int = 160) -> str:
    plain = plain_text(body_md)
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


_SAVE_VERSION = """
INSERT INTO kb_article_versions (article_id, version, title, body_md, tags, skills, categories,
                                 status, edited_by)
SELECT id, version, title, body_md, tags, skills, categories, status, $2 FROM kb_articles WHERE id = $1
"""

# Each query word counts ts_rank (title A > tags B > body D, normalised by length) times its
# inverse document frequency among the searched articles, so a word every article has ("day",
# "订单") cannot outrank a rare one ("tracking", "运费"); an article of the call's skill gets 25%.
_SEARCH = f"""
WITH candidates AS (
    SELECT id, search, skills FROM kb_articles
    WHERE status = 'published' AND ($2::text IS NULL OR language = $2)
), words AS (
    SELECT plainto_tsquery('simple', w) AS q FROM (SELECT DISTINCT unnest($1::text[]) AS w) AS u
), weighted AS (
    SELECT q, ln(1 + (SELECT count(*) FROM candidates)::float8
                     / greatest(1, (SELECT count(*) FROM candidates c WHERE c.search @@ q))) AS idf
    FROM words WHERE numnode(q) > 0
), scored AS (
    SELECT c.id, sum(ts_rank('{{0.2, 0.3, 0.6, 1.0}}', c.search, w.q, 1) * w.idf)
                 * CASE WHEN $4::text IS NOT NULL AND $4 = ANY(c.skills) THEN 1.25 ELSE 1 END AS score
    FROM candidates c JOIN weighted w ON c.search @@ w.q
    GROUP BY c.id, c.skills
)
SELECT {_COLUMNS}, s.score
FROM scored s JOIN kb_articles USING (id)
ORDER BY s.score DESC, id
LIMIT $3
"""


class ArticleStore:
    """The knowledge base on a migrated pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, data: ArticleInput, actor: str, *, publish: bool = False) -> Article:
        """Raises:
            KbError: ``slug_taken`` when the language already has an article with that slug."""
        title, keys, body = data.search_columns()
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    f"""INSERT INTO kb_articles (slug, language, title, body_md, tags, skills,
                            categories, status, search_title, search_keys, search_body, updated_by,
                            published_at)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                                CASE WHEN $8 = 'published' THEN now() END)
                        RETURNING {_COLUMNS}""",
                    data.slug, data.language, data.title, data.body_md, list(data.tags),
                    list(data.skills), list(data.categories), "published" if publish else "draft",
                    title, keys, body, actor)
            except asyncpg.UniqueViolationError:
                raise KbError(f"{data.language} already has an article {data.slug!r}",
                              "slug_taken") from None
            await conn.execute(_SAVE_VERSION, row["id"], actor)
        return _article(row)

    async def update(self, article_id: int, data: ArticleInput, actor: str,
                     expected_version: int | None = None) -> Article:
        """Save a new version (status unchanged).

        Raises:
            NotFound: no such article.
            KbError: ``version_conflict`` when someone saved since ``expected_version``.
        """
        title, keys, body = data.search_columns()
        async with self._pool.acquire() as conn, conn.transaction():
            current = await conn.fetchrow("SELECT version FROM kb_articles WHERE id = $1 FOR UPDATE",
                                          article_id)
            if current is None:
                raise NotFound()
            if expected_version is not None and current["version"] != expected_version:
                raise KbError(f"the article changed since version {expected_version} (now "
                              f"{current['version']}): reload it", "version_conflict")
            try:
                row = await conn.fetchrow(
                    f"""UPDATE kb_articles SET slug = $2, language = $3, title = $4, body_md = $5,
                            tags = $6, skills = $7, categories = $8, search_title = $9,
                            search_keys = $10, search_body = $11, updated_by = $12,
                            version = version + 1
                        WHERE id = $1 RETURNING {_COLUMNS}""",
                    article_id, data.slug, data.language, data.title, data.body_md, list(data.tags),
                    list(data.skills), list(data.categories), title, keys, body, actor)
            except asyncpg.UniqueViolationError:
                raise KbError(f"{data.language} already has an article {data.slug!r}",
                              "slug_taken") from None
            await conn.execute(_SAVE_VERSION, article_id, actor)
        return _article(row)

    async def set_status(self, article_id: int, status: str, actor: str) -> Article:
        """Publish or unpublish; recorded as a new version."""
        if status not in STATUSES:
            raise KbError(f"status must be one of {', '.join(STATUSES)}")
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"""UPDATE kb_articles SET status = $2, updated_by = $3, version = version + 1,
                        published_at = CASE WHEN $2 = 'published' THEN now() ELSE published_at END
                    WHERE id = $1 RETURNING {_COLUMNS}""", article_id, status, actor)
            if row is None:
                raise NotFound()
            await conn.execute(_SAVE_VERSION, article_id, actor)
        return _article(row)

    async def get(self, article_id: int) -> Article:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM kb_articles WHERE id = $1", article_id)
        if row is None:
            raise NotFound()
        return _article(row)

    async def list_articles(self, language: str | None = None, status: str | None = None) -> list[Article]:
        rows = await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM kb_articles
                WHERE ($1::text IS NULL OR language = $1) AND ($2::text IS NULL OR status = $2)
                ORDER BY language, title""", language, status)
        return [_article(r) for r in rows]

    async def versions(self, article_id: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            """SELECT version, title, body_md, tags, skills, categories, status, edited_by, edited_at
               FROM kb_article_versions WHERE article_id = $1 ORDER BY version DESC""", article_id)
        if not rows:
            await self.get(article_id)  # raises NotFound
        return [{**dict(r), "tags": list(r["tags"]), "skills": list(r["skills"]),
                 "categories": list(r["categories"]), "edited_at": r["edited_at"].isoformat()}
                for r in rows]

    async def search(self, query: str, *, language: str | None = None, skill: str | None = None,
                     limit: int = 10) -> list[Hit]:
        """Published articles matching any word of ``query``, best first."""
        return await self.search_words(text.tokens(query), language=language, skill=skill,
                                       limit=limit)

    async def search_words(self, words: list[str], *, language: str | None = None,
                           skill: str | None = None, limit: int = 10) -> list[Hit]:
        unique = list(dict.fromkeys(w for w in words if w))
        if not unique:
            return []
        rows = await self._pool.fetch(_SEARCH, unique, language, limit, skill)
        return [Hit(_article(r), float(r["score"]), _snippet(r["body_md"])) for r in rows]

    async def suggest(self, found: Signals, *, limit: int = 5) -> list[Hit]:
        """Articles for a call's signals, in the caller's language when known (else any)."""
        words = text.tokens(" ".join(found.words))
        hits = await self.search_words(words, language=found.language, skill=found.skill, limit=limit)
        if not hits and found.language is not None:
            hits = await self.search_words(words, skill=found.skill, limit=limit)
        return hits

    async def resolve_call(self, ref: int | str | None) -> int | None:
        """``calls.id`` of a call given by id or by linkedid (pops may carry either); None when
        there is no such call."""
        if ref is None or isinstance(ref, bool):
            return None
        if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
            number = int(ref)
            if 0 < number < 2**63:
                found = await self._pool.fetchval("SELECT id FROM calls WHERE id = $1", number)
                if found is not None:
                    return int(found)
        if isinstance(ref, str) and 0 < len(ref) <= 64 and "\x00" not in ref:
            found = await self._pool.fetchval("SELECT id FROM calls WHERE linkedid = $1", ref)
            return None if found is None else int(found)
        return None

    async def record_suggestions(self, call_id: int | None, hits: list[Hit], reason: str) -> int:
        """Remember what was suggested for ``call_id`` (first rank kept); 0 without a call."""
        if not hits or call_id is None:
            return 0
        await self._pool.executemany(
            """INSERT INTO kb_suggestions (call_id, article_id, rank, reason) VALUES ($1, $2, $3, $4)
               ON CONFLICT (call_id, article_id) DO NOTHING""",
            [(call_id, h.article.id, rank, reason[:500]) for rank, h in enumerate(hits, 1)])
        return len(hits)

    async def record_view(self, article_id: int, user_id: int | None, call_id: int | None,
                          source: str) -> Article:
        """Record that a user opened an article; returns it."""
        if source not in SOURCES:
            raise KbError(f"source must be one of {', '.join(SOURCES)}")
        article = await self.get(article_id)
        await self._pool.execute(
            "INSERT INTO article_views (article_id, version, user_id, call_id, source)"
            " VALUES ($1, $2, $3, $4, $5)", article_id, article.version, user_id, call_id, source)
        return article

    async def suggestion_stats(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Per suggested article: calls it was suggested on in ``[start, end)``, how many of those
        calls opened it, and the open rate."""
        rows = await self._pool.fetch(
            """SELECT a.id, a.slug, a.language, a.title, count(*) AS suggested,
                      count(*) FILTER (WHERE EXISTS (
                          SELECT 1 FROM article_views v
                          WHERE v.article_id = s.article_id AND v.call_id = s.call_id)) AS opened,
                      avg(s.rank)::float8 AS mean_rank
               FROM kb_suggestions s JOIN kb_articles a ON a.id = s.article_id
               WHERE s.suggested_at >= $1 AND s.suggested_at < $2
               GROUP BY a.id ORDER BY suggested DESC, a.id""", start, end)
        return [{"article_id": r["id"], "slug": r["slug"], "language": r["language"],
                 "title": r["title"], "suggested": r["suggested"], "opened": r["opened"],
                 "open_rate": r["opened"] / r["suggested"] if r["suggested"] else None,
                 "mean_rank": round(r["mean_rank"], 2)} for r in rows]


def _read_seed_files(directory: Path) -> list[tuple[Path, str]]:
    if not directory.is_dir():
        raise KbError(f"{directory}: not a directory of article files")
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.yaml"))]


async def seed_articles(pool: asyncpg.Pool, directory: Path) -> int:
    """Load every ``*.yaml`` file in ``directory`` (a list of articles: slug, language, title,
    body, tags, skills, categories, status) as published or draft articles. Idempotent: an
    article whose (language, slug) exists is left alone. Returns how many were created.

    Raises:
        KbError: a file that is not a list of valid articles (naming the file).
    """
    store = ArticleStore(pool)
    created = 0
    files = await asyncio.to_thread(_read_seed_files, Path(directory))
    for path, content in files:
        items = yaml.safe_load(content)
        if not isinstance(items, list):
            raise KbError(f"{path.name}: expected a list of articles")
        for n, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise KbError(f"{path.name}: article {n} is not a mapping")
            try:
                data = ArticleInput.parse({**item, "body_md": item.get("body", item.get("body_md"))})
            except KbError as exc:
                raise KbError(f"{path.name}: article {n}: {exc}") from None
            exists = await pool.fetchval("SELECT 1 FROM kb_articles WHERE language = $1 AND slug = $2",
                                         data.language, data.slug)
            if exists:
                continue
            await store.create(data, "seed", publish=item.get("status", "published") == "published")
            created += 1
    return created
