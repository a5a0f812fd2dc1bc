"""The agent's control of their live call: hang up, hold / resume, mute / unmute.

``plan`` is the pure core (the call as the tracker knows it, the control state and the asked
action → the AMI actions to send and the new control state, or a refusal with an error id);
``service`` carries a plan out over AMI and confirms it from the events that follow.
"""
