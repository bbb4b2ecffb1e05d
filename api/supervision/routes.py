from fastapi import APIRouter

router = APIRouter(prefix="/supervision", tags=["supervision"])
