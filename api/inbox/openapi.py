"""The completion body of ``POST /tasks/{task_id}/complete`` in the OpenAPI document: one of
the task kinds' forms (``api.tasks.kinds``), each a model or a union of models told apart
by their discriminator, so ``/docs`` shows every body a task can be completed with.

The route reads the body as JSON and parses it with the form of the task's own kind; the
task's ``form`` gives that form alone."""

from typing import Any

from api.tasks.kinds import KINDS

_REF = "#/components/schemas/{model}"
_PATH = "/api/v1/tasks/{task_id}/complete"


def _forms() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The kinds' forms (one entry per kind) and the models they name, as components."""
    choices: list[dict[str, Any]] = []
    components: dict[str, Any] = {}
    for kind, entry in KINDS.items():
        schema = entry.form.json_schema(ref_template=_REF)
        components.update(schema.pop("$defs", {}))
        if "oneOf" in schema:
            choices.append({**schema, "title": kind.value, "description": entry.label})
        else:
            components[schema["title"]] = schema
            choices.append({"$ref": _REF.format(model=schema["title"])})
    # One model can serve several kinds (a rung's termination is also the plain handle's).
    unique = list({repr(c): c for c in choices}.values())
    return unique, components


CHOICES, COMPONENTS = _forms()

# The route's own request body (what FastAPI would infer is a bare JSON object).
COMPLETION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The body of the task's kind: its ``form`` (GET /tasks/{task_id}).",
        "content": {"application/json": {"schema": {"oneOf": CHOICES}}},
    }
}


def document(schema: dict[str, Any]) -> None:
    """Puts the completion body and the models it names into the OpenAPI document."""
    schema.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    operation = schema["paths"][_PATH]["post"]
    operation["requestBody"] = COMPLETION_BODY["requestBody"]
