-- 012: reserved for another branch's migration; this no-op keeps the numbers contiguous until it is merged (drop this file then).
SELECT 1;
