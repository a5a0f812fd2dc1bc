"""Speech-to-text: audio loading, the vosk transcriber and its worker."""
