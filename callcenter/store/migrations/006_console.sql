-- 006_console: the agent console: dispositions, ticket workflow additions.
SELECT 1;
