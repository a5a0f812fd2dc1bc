"""``config/skills.yaml``: the skills agents have (levels 1-5) and IVR flows route to.

    skills:
      - {name: general, description: Anything}
      - orders                      # a bare name is a skill without a description
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, Field, ValidationError

from callcenter.schema.base import Schema, summary
from callcenter.schema.fields import Text


def _entry(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class Skill(Schema):
    name: Annotated[Text, Field(min_length=1)]
    description: Text = ""


class SkillsFile(Schema):
    skills: Annotated[tuple[Annotated[Skill, BeforeValidator(_entry)], ...], Field(min_length=1)]


def read_skill_names(path: Path) -> list[str]:
    """The skill names of a skills file, in file order.

    Raises:
        ValueError: unreadable, not YAML, or not of that shape; the message names the file and the
            field (``config/skills.yaml: skills[2].name: must not be empty``).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    try:
        return [skill.name for skill in SkillsFile.model_validate(data).skills]
    except ValidationError as exc:
        raise ValueError(f"{path}: {summary(exc, SkillsFile)}") from None
