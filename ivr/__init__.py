"""IVR: flow model, validator, interpreter and the AsyncAGI runner.

    model, loader      flows as frozen data, from config/ivr/*.yaml
    schema, rules      the top of a flow file and its calendars; branch rules and conditions
    fields             checked field types of flow files (node ids, prompts, context keys)
    validate, cli      `callcenter ivr validate FILE…`
    interpreter        the pure state machine: (state, event, now) -> (state, effect, path)
    effects            effects, events, route requirements, path entries
    conditions, hours  branch conditions; business hours and holidays by time zone
    inputs, say        input validators; read-back as prompts per language
    sounds, prompts    prompt names per language; the espeak-ng prompt generator
    registry           loaded flows, reloaded without a restart
    runner, commands   carries effects out over AsyncAGI; AGI command lines
    sinks, lookup      Protocols the runner talks to; order context as IVR context
    heartbeat          tells the dialplan the server is alive
"""
