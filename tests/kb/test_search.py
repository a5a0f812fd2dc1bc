"""Full-text search on the seed articles (config/kb): the right article ranks first for typical
agent queries in both languages, Chinese without spaces included; drafts are never found."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from callcenter.kb.store import ArticleInput, ArticleStore, seed_articles
from tests.kb.queries import EN, ZH

pytestmark = pytest.mark.integration
SEED = Path(__file__).resolve().parents[2] / "config" / "kb"


@pytest.fixture
async def store(pool: asyncpg.Pool) -> ArticleStore:
    await pool.execute("TRUNCATE kb_articles RESTART IDENTITY CASCADE")
    assert await seed_articles(pool, SEED) >= 24
    return ArticleStore(pool)


@pytest.mark.parametrize(("query", "slug"), ZH)
async def test_chinese_query_finds_the_right_article_first(store: ArticleStore, query: str,
                                                           slug: str) -> None:
    hits = await store.search(query, language="zh-CN")
    assert hits, query
    assert hits[0].article.slug == slug, [h.article.slug for h in hits]


@pytest.mark.parametrize(("query", "slug"), EN)
async def test_english_query_finds_the_right_article_first(store: ArticleStore, query: str,
                                                           slug: str) -> None:
    hits = await store.search(query, language="en")
    assert hits, query
    assert hits[0].article.slug == slug, [h.article.slug for h in hits]


async def test_without_a_language_a_chinese_query_finds_only_chinese_articles(store: ArticleStore) -> None:
    hits = await store.search("快递破损怎么退款")
    assert hits and all(h.article.language == "zh-CN" for h in hits)
    assert hits[0].article.slug == "damaged-delivery"


async def test_seeding_twice_creates_nothing_new(pool: asyncpg.Pool, store: ArticleStore) -> None:
    assert await seed_articles(pool, SEED) == 0


async def test_drafts_are_not_found_until_published(store: ArticleStore) -> None:
    draft = await store.create(ArticleInput.parse({
        "slug": "gift-wrapping", "language": "en", "title": "Gift wrapping service",
        "body_md": "We wrap gifts in recycled paper.", "tags": ["gift"]}), "sam")
    assert draft.id not in [h.article.id for h in await store.search("gift wrapping")]
    await store.set_status(draft.id, "published", "sam")
    hits = await store.search("gift wrapping")
    assert hits[0].article.id == draft.id


async def test_stop_words_only_find_nothing(store: ArticleStore) -> None:
    assert await store.search("how do I") == []
    assert await store.search("怎么办") == []
