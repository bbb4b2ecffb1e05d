"""How a workplace page is drawn: the templates with their filters and names, and the
answer to a form that was refused (its fields' errors, or a refusal of the whole)."""

from pathlib import Path
from typing import Any
from uuid import uuid4

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from api import labels
from api.errors import DomainError, Invalid
from api.pages import present, views
from api.pages.session import csrf
from api.tasks import kinds
from api.users.models import User

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["day"] = present.day
templates.env.filters["moment"] = present.moment
templates.env.globals["labels"] = labels
templates.env.globals["name"] = labels.name
templates.env.globals["kinds_labels"] = kinds.LABELS
templates.env.globals["consents"] = views.consents
templates.env.globals["may_mediate"] = views.may_mediate
templates.env.globals["may_report_clue"] = views.may_report_clue
templates.env.globals["new_ref"] = lambda: uuid4().hex
templates.env.globals["user_change"] = present.user_change
templates.env.globals["CONSENT"] = views.CONSENT
templates.env.globals["PARTY"] = views.PARTY
STATIC = Path(__file__).parent / "static"


def render(
    request: Request,
    template: str,
    user: User | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf": csrf(request),
            "role": labels.name(labels.ROLE, user.role) if user else "",
            **context,
        },
        status_code=status_code,
    )


def refusal(error: Exception) -> tuple[list[dict[str, Any]], str, int]:
    """Why a form was not taken: the fields' errors (the model's, or the service's checks;
    422), or a refusal of the whole form in Chinese, with its status."""
    if isinstance(error, ValidationError):
        found = error.errors(include_url=False, include_context=False)
        return [dict(e) for e in found], "", 422
    if isinstance(error, Invalid):
        entries = error.detail if isinstance(error.detail, list) else []
        if error.code != "request.invalid":  # extension.too_long: the rule's own message
            entries = [{**e, "message": labels.error(error.code)} for e in entries]
        return entries, "", 422
    assert isinstance(error, DomainError)
    return [], labels.error(error.code), error.status_code


def field_text(error: dict[str, Any]) -> str:
    """An error of one field, in Chinese: the service's own message, or its kind's."""
    return str(error.get("message") or labels.FIELD_ERROR.get(str(error.get("type")), "填写有误"))


def refused(request: Request, user: User | None, error: DomainError) -> HTMLResponse:
    return render(
        request,
        "error.html",
        user,
        status_code=error.status_code,
        message=labels.error(error.code),
        code=error.code,
    )
