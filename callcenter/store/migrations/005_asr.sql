-- 005_asr: the durable job queue (ASR and QA jobs), transcripts and utterances, recording pauses.
SELECT 1;
