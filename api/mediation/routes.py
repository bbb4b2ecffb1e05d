from fastapi import APIRouter

from api.casefile import service as casefile
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.errors import NotFound
from api.mediation import service as mediation
from api.mediation.models import (
    CommitteesPublic,
    ConsentCreate,
    ConsentPublic,
    LadderDetail,
    SessionCreate,
    SessionPublic,
)

router = APIRouter(tags=["mediation"])


@router.get("/cases/{case_no}/mediation", response_model=LadderDetail)
def get_ladder(case_no: str, session: SessionDep, user: CurrentUser) -> LadderDetail:
    """The case's mediation ladder: each rung's outcome, the sessions held, the consents."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    found = mediation.detail(session=session, case_no=case.case_no, user=user)
    if found is None:
        raise NotFound("mediation.none", f"case {case_no} has not been to mediation")
    return found


@router.post("/cases/{case_no}/mediation/sessions", response_model=SessionPublic, status_code=201)
def record_session(
    case_no: str, body: SessionCreate, session: SessionDep, user: CurrentUser
) -> SessionPublic:
    """Records a mediation session (调解记录) of the branch: date, attendees, minutes."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    return mediation.record_session(session=session, case=case, user=user, body=body)


@router.post("/cases/{case_no}/mediation/consents", response_model=ConsentPublic, status_code=201)
def record_consent(
    case_no: str, body: ConsentCreate, session: SessionDep, user: CurrentUser
) -> ConsentPublic:
    """Records a party's consent to, or refusal of, people's mediation or judicial
    confirmation; a move up the ladder needs both parties' consent on record."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    return mediation.record_consent(session=session, case=case, user=user, body=body)


@router.get("/mediation/committees", response_model=CommitteesPublic)
def list_committees(settings: SettingsDep, _user: CurrentUser) -> CommitteesPublic:
    """The people's mediation committees (人民调解委员会) a dispute can be referred to."""
    found = mediation.committee_list(settings.committees_file)
    return CommitteesPublic(data=list(found), count=len(found))
