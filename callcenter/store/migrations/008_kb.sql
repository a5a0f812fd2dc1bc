-- 008_kb: knowledge base articles, versions, search, article views.
SELECT 1;
