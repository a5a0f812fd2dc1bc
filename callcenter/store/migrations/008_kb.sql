-- 008_kb: knowledge base articles, their version history, full-text search, suggestions shown
-- to agents and the articles agents opened.
--
-- Search: the application segments text (jieba for Chinese, words for English, see
-- callcenter/kb/text.py) and stores the tokens space-separated; the tsvector is built with the
-- 'simple' configuration (no stemming, no stop words: the application removes those), so it
-- works the same on any PostgreSQL with no extension. pg_trgm is not used: the embedded
-- PostgreSQL (pgserver) does not ship it (docs/knowledge-base.md has the measurement).

CREATE TABLE kb_articles (
    id            bigserial PRIMARY KEY,
    -- stable name for seeding and links, e.g. "returns-policy"; unique per language
    slug          text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,79}$'),
    language      text NOT NULL CHECK (language IN ('en', 'zh-CN')),
    title         text NOT NULL CHECK (title <> '' AND length(title) <= 200),
    body_md       text NOT NULL CHECK (length(body_md) <= 100000),
    tags          text[] NOT NULL DEFAULT '{}',
    skills        text[] NOT NULL DEFAULT '{}',
    categories    text[] NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    version       int NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- segmented text the tsvector is built from (title, tags/skills/categories, body)
    search_title  text NOT NULL DEFAULT '',
    search_keys   text NOT NULL DEFAULT '',
    search_body   text NOT NULL DEFAULT '',
    search        tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('simple', search_title), 'A')
                      || setweight(to_tsvector('simple', search_keys), 'B')
                      || setweight(to_tsvector('simple', search_body), 'D')) STORED,
    updated_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    UNIQUE (language, slug)
);
CREATE TRIGGER kb_articles_updated_at BEFORE UPDATE ON kb_articles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE INDEX kb_articles_search_idx ON kb_articles USING gin (search);
CREATE INDEX kb_articles_skills_idx ON kb_articles USING gin (skills);
CREATE INDEX kb_articles_tags_idx ON kb_articles USING gin (tags);

-- Every saved state of an article (version 1 is the first save); append-only by convention.
CREATE TABLE kb_article_versions (
    article_id  bigint NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    version     int NOT NULL CHECK (version >= 1),
    title       text NOT NULL,
    body_md     text NOT NULL,
    tags        text[] NOT NULL DEFAULT '{}',
    skills      text[] NOT NULL DEFAULT '{}',
    categories  text[] NOT NULL DEFAULT '{}',
    status      text NOT NULL CHECK (status IN ('draft', 'published')),
    edited_by   text NOT NULL DEFAULT '',
    edited_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, version)
);

-- Articles the console suggested for a call (so open rates can be computed), one row per
-- (call, article): suggesting the same article again for the call keeps the first rank.
CREATE TABLE kb_suggestions (
    call_id      bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    article_id   bigint NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    rank         int NOT NULL CHECK (rank >= 1),
    reason       text NOT NULL DEFAULT '',
    suggested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_id, article_id)
);
CREATE INDEX kb_suggestions_article_idx ON kb_suggestions (article_id, suggested_at);

-- Articles opened in the console: from a suggestion, or from a search.
CREATE TABLE article_views (
    id          bigserial PRIMARY KEY,
    article_id  bigint NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    version     int NOT NULL,
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    call_id     bigint REFERENCES calls (id) ON DELETE SET NULL,
    source      text NOT NULL CHECK (source IN ('suggestion', 'search', 'browse')),
    viewed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_views_article_idx ON article_views (article_id, viewed_at);
CREATE INDEX article_views_call_idx ON article_views (call_id) WHERE call_id IS NOT NULL;
