from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.units import service
from api.units.models import UnitPublic, UnitsPublic

router = APIRouter(tags=["reference"])


@router.get("/units", response_model=UnitsPublic)
def list_units(session: SessionDep, _user: CurrentUser) -> UnitsPublic:
    """The units of the organisation, with their codes and districts."""
    units = service.list_all(session=session)
    return UnitsPublic(data=[UnitPublic.model_validate(u) for u in units], count=len(units))
