"""The Chinese names of the service's codes: statuses, channels, deadlines, history events,
supervision records. What a page or an export shows instead of a code; a code without a
name shows as itself."""

STATUS = {
    "registered": "已登记",
    "reconciliation": "和解中",
    "triage": "受理审查",
    "rejected": "不予受理",
    "referred": "已移送",
    "handling": "处理中",
    "replied": "已答复",
    "callback": "回访中",
    "closed": "已办结",
    "withdrawn": "已撤回",
    "verification": "核查中",
    "not_filed": "不予立案",
    "investigation": "立案调查",
}

KIND = {"complaint": "投诉", "report": "举报"}

CHANNEL = {
    "hotline": "12315热线",
    "web": "网站",
    "wechat": "微信",
    "letter": "来信",
    "walk_in": "来访",
    "station": "维权服务站",
    "hand_down": "上级交办",
    "transfer": "外部转办",
    "ex_officio": "依职权发现",
}

DEADLINE = {
    "triage": "受理审查时限",
    "handle": "处理时限",
    "callback": "回访时限",
    "verify": "核查时限",
    "reporter_notice": "告知举报人时限",
    "investigate": "调查时限",
    "reconcile": "和解时限",
    "termination_notice": "终止调解告知时限",
    "people_mediation": "人民调解时限",
    "judicial_confirmation": "司法确认申请期限",
    "court_ruling": "法院审查期限",
    "court_outcome": "诉讼期限",
}

DEADLINE_STATE = {"pending": "进行中", "met": "按期完成", "overdue": "已超期", "paused": "中止计时"}

SUPERVISION = {
    "warning": "预警",
    "overdue": "超期",
    "notice": "催办通知书",
    "criticism": "通报批评",
    "accountability": "责任追究",
    "urge": "催办",
}

EVENT = {
    "registered": "登记",
    "status_changed": "状态变更",
    "deadline_set": "设定时限",
    "deadline_met": "时限完成",
    "deadline_changed": "时限变更",
    "deadline_extended": "延长时限",
    "deadline_overdue": "超期",
    "deadline_warning": "超期预警",
    "deadline_reminder": "期限提醒",
    "deadline_lapsed": "外部期限届满",
    "deadline_expired": "期限届满",
    "chase_notice": "催办通知书",
    "criticised": "通报批评",
    "accountability": "责任追究",
    "urged": "督办催办",
    "task_opened": "生成待办",
    "task_completed": "办结待办",
    "task_cancelled": "取消待办",
    "accepted": "受理",
    "rejected": "不予受理",
    "referred": "移送",
    "returned": "退回",
    "reassigned": "改派",
    "replied": "答复",
    "callback_reached": "回访成功",
    "callback_unreached": "回访未联系上",
    "handling_confirmed": "确认办结",
    "sent_back_for_redo": "退回重办",
    "handling_concluded": "处理终结",
    "withdrawn": "撤回投诉",
    "clock_paused": "中止计时（鉴定检测）",
    "clock_resumed": "恢复计时",
    "extension_requested": "申请延期",
    "extension_approved": "批准延期",
    "extension_refused": "不批准延期",
    "filed": "立案",
    "not_filed": "不予立案",
    "reporter_told": "告知举报人",
    "investigation_decided": "调查终结",
    "clue_reported": "移交违法线索",
    "mediation_started": "开始调解",
    "mediation_stage": "调解阶段",
    "mediation_agreed": "达成调解协议",
    "mediation_terminated": "终止调解",
    "mediation_returned": "退回（非本单位管辖）",
    "mediation_ended": "调解结束",
    "mediation_session": "调解记录",
    "reconciled": "和解成功",
    "reconciliation_failed": "和解不成",
    "termination_notified": "终止调解告知",
    "people_mediation_agreed": "人民调解达成协议",
    "people_mediation_failed": "人民调解未达成协议",
    "judicial_confirmation_applied": "申请司法确认",
    "judicial_confirmation_declined": "不申请司法确认",
    "judicially_confirmed": "司法确认有效",
    "judicial_confirmation_refused": "司法确认驳回",
    "court_outcome": "诉讼结果",
    "court_entrusted": "法院委托调解",
    "consent_recorded": "当事人同意",
    "consent_refused": "当事人不同意",
    "reporter_identity_read": "查阅举报人身份",
    "report_link_read": "查阅关联举报",
    "incident_opened": "故障",
    "incident_resolved": "故障排除",
    "incident_retry_requested": "请求重试",
}

RUNG = {
    "reconciliation": "和解",
    "administrative": "行政调解",
    "people": "人民调解",
    "judicial": "司法确认／诉讼",
}


def name(table: dict[str, str], code: str | None) -> str:
    """The code's Chinese name, or the code itself (or an empty string for none)."""
    if code is None:
        return ""
    return table.get(code, code)
