-- Number reserved for another change (merged separately); this branch keeps the numbers
-- continuous so that 013 applies. At merge, the other change's file of the same name wins.
SELECT 1;
