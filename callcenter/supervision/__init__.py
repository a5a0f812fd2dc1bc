"""Supervisors on live calls: listen, whisper and barge through their own phone (ChanSpy),
audited; and forcing an agent's state from the wallboard."""
