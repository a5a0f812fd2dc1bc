-- Number 011 is taken by another change that lands alongside this one; this placeholder keeps
-- the numbers without gaps until it does (replace this file with it when both are merged).
SELECT 1;
