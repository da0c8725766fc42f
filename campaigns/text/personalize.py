"""Personalisation fields: `{first_name}` in a text becomes each recipient's own value.

A field is a name in braces: `{first_name}`, `{last_name}` or a custom field of the
import (`{city}`). `{{` and `}}` stand for literal braces. A recipient without a value
gets an empty string; the double space that may leave is kept, since the marketer chose
where the field goes. Unknown fields are refused before anything is sent.

>>> render("Bonjour {first_name}, -20% !", {"first_name": "Léa"})
'Bonjour Léa, -20% !'
>>> fields_in("Hi {first_name} {{not a field}}")
('first_name',)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

STANDARD_FIELDS = ("first_name", "last_name")
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_ ]{0,39})\}")


@dataclass(frozen=True, slots=True)
class Template:
    """A text split once into literal parts and field names, to render many times fast."""

    parts: tuple[str, ...]  # literal, field, literal, field, ..., literal
    fields: tuple[str, ...]

    @property
    def personalised(self) -> bool:
        return bool(self.fields)

    def render(self, values: Mapping[str, object]) -> str:
        if not self.fields:
            return self.parts[0]
        out = [self.parts[0]]
        for index, name in enumerate(self.fields):
            value = values.get(name)
            out.append("" if value is None else str(value))
            out.append(self.parts[index + 1])
        return "".join(out)


def parse(text: str) -> Template:
    literals: list[str] = []
    names: list[str] = []
    current: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        current.append(text[position : match.start()])
        piece = match.group(0)
        if piece == "{{":
            current.append("{")
        elif piece == "}}":
            current.append("}")
        else:
            literals.append("".join(current))
            current = []
            names.append(match.group(1).strip())
        position = match.end()
    current.append(text[position:])
    literals.append("".join(current))
    return Template(parts=tuple(literals), fields=tuple(names))


def fields_in(text: str) -> tuple[str, ...]:
    """The field names a text uses, each once, in order of appearance."""
    return tuple(dict.fromkeys(parse(text).fields))


def unknown_fields(text: str, known: set[str] | frozenset[str]) -> tuple[str, ...]:
    """Fields of `text` that are neither standard nor in `known` (custom field names)."""
    allowed = set(STANDARD_FIELDS) | set(known)
    return tuple(name for name in fields_in(text) if name not in allowed)


def render(text: str, values: Mapping[str, object]) -> str:
    return parse(text).render(values)
