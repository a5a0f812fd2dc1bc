"""Config files read through pydantic models, with errors in the project's own words.

    base      the :class:`~callcenter.schema.base.Schema` base model and the error renderer
    fields    checked scalar types shared by every file kind (numbers, flags, text, ranges)
    skills    ``config/skills.yaml``: the skill names agents have and flows route to
"""
