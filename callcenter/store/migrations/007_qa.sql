-- 007_qa: sentiment, scorecard results, reviewer overrides.
SELECT 1;
