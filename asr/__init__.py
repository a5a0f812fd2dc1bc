"""Speech-to-text: audio loading, speech segments, the engines per language (Whisper under
transformers, vosk), redaction and the worker."""
