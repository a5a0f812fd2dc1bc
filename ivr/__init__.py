"""IVR: flow model, validator, interpreter and the AsyncAGI runner.

    model, loader      flows as frozen data, from config/ivr/*.yaml
    schema, rules      the top of a flow file and its calendars; branch rules and conditions
    fields             checked field types of flow files (node ids, prompts, context keys)
    validate, cli      `callcenter ivr validate FILE…`
    interpreter        the pure state machine: (state, event, now) -> (state, effect, path)
    steps, nodes*      its state and steps; what each node type does (nodes_input, nodes_callback)
    effects            effects, events, route requirements, path entries
    conditions, hours  branch conditions; business hours and holidays by time zone
    inputs, say        input validators; read-back as prompts per language
    sounds, prompts    prompt names per language; the espeak-ng prompt generator
    registry           loaded flows, reloaded without a restart
    runner             one task per call in AsyncAGI, started and ended by AMI events
    conductor          one call's run: the interpreter decides, the performer acts, the journal keeps
    agi_session        one channel's AGI commands, their answers and their resend after a link drop
    perform, hold      what each effect does (prompts, digits, lookups, the route on hold, tickets)
    journal            each call's path and context, and the summary the agent's screen reads
    commands           AGI command lines
    sinks, lookup      Protocols the runner talks to; order context as IVR context
    heartbeat          tells the dialplan the server is alive
"""
