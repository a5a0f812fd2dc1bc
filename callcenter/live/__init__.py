"""Live speech during the call: per-speaker audio from Asterisk, cut into utterances as they
end, transcribed by the ASR workers and pushed to the agent's console and the wallboard.

    Bridged ─▶ starter: Originate AudioSocket/host:port/uuid running ChanSpy(leg, qoE)
    AudioSocket TCP ─▶ receiver (protocol: frames) ─▶ segmenter (VAD) ─▶ live_segments + job
    ASR worker (``live_asr`` jobs) ─▶ live_utterances + NOTIFY ─▶ relay ─▶ console / wallboard
"""
