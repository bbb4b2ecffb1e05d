"""The Chinese names of the service's codes: statuses, channels, deadlines, history events,
supervision records; and dates as they are written. What a page or an export shows
instead of a code; a code without a name shows as itself."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

_ZONE = ZoneInfo("Asia/Shanghai")

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
    "draft": "草稿",
    "published": "已发布",
    "assigned": "已下达，待办理",
    "submitted": "已报送，待审核",
}

KIND = {
    "complaint": "投诉",
    "report": "举报",
    "bulletin": "通报",
    "demonstration": "示范点名单",
    "rectification": "站点整改",
    "campaign": "专项整治",
    "delisting": "不合格商品退市",
    "review": "社会评议",
    "review_order": "评议整改",
}

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
    "demonstration": "示范点申报时限",
    "rectification": "整改时限",
    "campaign_end": "专项整治期满，核定完成情况",
    "delisting": "退市时限",
    "review_end": "社会评议期满，汇总评议报告",
    "review_rectification": "评议整改时限",
}
# A campaign's stops at each quarter's end (campaign_2026q1 …).
_QUARTER = ("一", "二", "三", "四")
DEADLINE.update(
    {
        f"campaign_{year}q{q}": f"{year}年第{_QUARTER[q - 1]}季度末进度检查"
        for year in range(2000, 2100)
        for q in range(1, 5)
    }
)

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
    "bulletin_drafted": "通报草稿生成",
    "bulletin_edited": "修改通报草稿",
    "bulletin_published": "通报发布",
    "demonstration_named": "申报示范点",
    "demonstration_returned": "示范点名单退回重报",
    "demonstration_approved": "示范点名单确认",
    "rectified": "整改完成",
    "campaign_tagged": "列入专项整治",
    "campaign_untagged": "移出专项整治",
    "campaign_opened": "专项整治开始",
    "campaign_checkpoint": "专项整治进度检查",
    "campaign_ended": "专项整治结束",
    "campaign_measures": "说明整改措施",
    "delisted": "不合格商品退市完成",
    "sample_reported": "质量监测不合格立案举报",
    "review_opened": "社会评议开始",
    "review_ended": "社会评议结束",
    "review_rectified": "评议整改落实",
}

RUNG = {
    "reconciliation": "和解",
    "administrative": "行政调解",
    "people": "人民调解",
    "judicial": "司法确认／诉讼",
}


ROLE = {
    "operator": "指挥中心坐席",
    "handler": "承办人",
    "supervisor": "督办人",
    "auditor": "审计",
    "station": "维权服务站",
    "admin": "管理员",
}

TASK_STATUS = {"open": "待办", "claimed": "已认领", "done": "已办结", "cancelled": "已取消"}

# The choices a completion form offers (the values of its Literal fields), and outcomes.
CHOICE = {
    # 受理审查
    "accept": "受理",
    "reject": "不予受理",
    "refer": "移送其他部门",
    # 行政调解
    "agreement": "调解成功，达成协议",
    "terminated": "终止调解",
    "return": "退回（非本单位管辖）",
    # 回访
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "unsatisfied": "不满意",
    "unreachable": "未联系上",
    # 督办
    "urge": "催办",
    "extend": "延期",
    "reassign": "改派",
    # 举报
    "file": "立案",
    "no_file": "不予立案",
    "penalty": "行政处罚",
    "no_violation": "未发现违法行为",
    "transfer": "移送",
    # 回访不满意复核
    "redo": "退回重办",
    "confirm": "确认办结",
    "publish": "发布",
    # 示范点名单
    "approve": "确认",
    "send_back": "退回重报",
    # 告知渠道
    "phone": "电话",
    "sms": "短信",
    "letter": "书面",
    "in_person": "当面",
    "online": "网上",
    # 调解阶梯
    "settled": "和解成功",
    "not_settled": "和解不成",
    "end": "结束",
    "people": "人民调解",
    "litigation": "诉讼引导",
    "failed": "未达成协议",
    "applied": "已申请司法确认",
    "declined": "不申请司法确认",
    "confirmed": "裁定有效",
    "invalid": "裁定驳回",
    "judgment": "判决",
    "court_mediation": "法院调解",
    "lawsuit_withdrawn": "撤诉",
    "not_sued": "消费者未起诉",
    "entrusted": "法院委托调解",
    "administrative": "行政调解",
    # 办结结果（案件的，和调解阶梯的）
    "mediated": "调解成功",
    "reconciled": "和解成功",
    "unresolved": "和解不成，转指挥中心受理",
    "returned": "退回（非本单位管辖）",
    "stopped": "流程中止",
    "not_filed": "不予立案",
    "not_applied": "未申请司法确认",
    "window_expired": "申请司法确认期限已过",
    "withdrawn": "撤回",
    "rejected": "不予受理",
    "referred": "移送",
    "expired": "期限届满",
    "true": "是",
    "false": "否",
}

# The fields of the completion forms and the registration form.
FIELD = {
    "decision": "处理决定",
    "unit": "承办单位",
    "ground": "依据",
    "reason": "理由",
    "to": "移送部门",
    "outcome": "处理结果",
    "summary": "情况摘要",
    "amount_recovered": "挽回经济损失（元）",
    "reply": "答复内容",
    "reached": "是否联系上投诉人",
    "satisfaction": "满意度",
    "comment": "回访记录",
    "action": "督办措施",
    "note": "备注",
    "working_days": "延长工作日数",
    "handler": "承办人",
    "approve": "是否批准",
    "channel": "告知方式",
    "complainant": "告知投诉人方式",
    "respondent": "告知被投诉人方式",
    "told_on": "告知日期",
    "next": "下一步",
    "committee": "人民调解委员会",
    "result": "调解结果",
    "signed_on": "签订日期",
    "court": "人民法院",
    "applied_on": "申请日期",
    "ruling": "裁定",
    "ruling_no": "裁定书文号",
    "ruled_on": "裁定日期",
    "rung": "调解层级",
    "due_on": "法院确定的调解期限",
    "court_ref": "法院案号",
    "supermarket": "超市示范点",
    "mall": "商场示范点",
    "market": "市场示范点",
    "enterprise": "企业示范点",
    "scenic": "景区示范点",
    "done_on": "完成日期",
    "measures": "原因和措施",
    "quantity": "下架（退市）数量",
}

# The API's error codes (``{"detail": …, "code": …}``), as the workplace shows them.
ERROR = {
    "as_of.in_future": "所选时间晚于现在",
    "as_of.no_offset": "所选时间须带时区",
    "auth.forbidden": "无权进行此操作",
    "auth.locked": "该账号登录失败次数过多，已暂时锁定，请稍后再试",
    "auth.role": "您的角色无权进行此操作",
    "auth.metrics": "监控数据须凭监控令牌读取",
    "auth.too_many_attempts": "本机登录失败次数过多，请稍后再试",
    "auth.unauthenticated": "请先登录",
    "auth.wrong_password": "用户名或密码错误",
    "bulletin.not_found": "没有这个月的通报",
    "bulletin.not_published": "该月通报尚未发布",
    "bulletin.published": "通报已发布，不能再修改；如需更正，请发更正版本",
    "bulletin.draft_open": "该月已有一份待发布的通报草稿",
    "bulletin.month_not_over": "该月尚未结束，不能出通报",
    "bulletin.nothing_to_correct": "该月没有已发布的通报可更正",
    "bulletin.report_named": "通报不点名举报案件",
    "bulletin.unknown_case": "通报批评所列案件不是本月的投诉案件",
    "bulletin.unknown_unit": "通报批评所列单位不是分局或县局",
    "calendar.changed": "工作日历已被他人修改，请刷新后重试",
    "case.client_ref_taken": "该登记编号已被另一案件使用",
    "case.closed": "案件已办结",
    "case.ended": "案件已结束",
    "case.illegal_move": "案件当前状态不允许此操作",
    "case.not_found": "未找到该案件",
    "case.start_pending": "案件已登记，其流程尚未启动（几分钟内自动启动）；请稍后再次提交",
    "case.start_unconfirmed": "案件已登记，但流程服务尚未确认；请再次提交（不会重复登记）",
    "checkpoint.case_not_covered": "该案件不在此检查点内",
    "checkpoint.not_found": "未找到该检查点",
    "clue.not_handling_unit": "只有承办单位可以移交线索",
    "clue.too_many": "该案件移交的线索已达上限",
    "consent.missing": "缺少当事人同意",
    "consent.refused": "当事人已表示不同意",
    "deadline.not_found": "未找到该时限",
    "deadline.not_mediation": "该时限不属于调解",
    "deadline.not_open": "该时限已结束",
    "deadline.not_paused": "该时限未中止计时",
    "deadline.not_running": "该时限未在计时",
    "deadline.not_yours": "该时限不属于您的单位",
    "deadline.paused": "该时限已中止计时",
    "decision.taken": "该决定已由他人作出",
    "decision.unconfirmed": "流程服务尚未确认此决定；请再次提交（不会重复办理）",
    "extension.already_granted": "该时限已延期过一次，不能再次延期",
    "extension.pending": "已有延期申请待审批",
    "extension.too_long": "延长的工作日数超过规定上限",
    "incident.not_found": "未找到该故障",
    "incident.resolved": "该故障已排除",
    "mediation.fact_missing": "缺少调解所需的记录",
    "mediation.illegal_move": "调解当前阶段不允许此选择",
    "mediation.none": "该案件没有调解",
    "mediation.not_found": "未找到该调解",
    "mediation.not_mediating": "该案件当前不在调解中",
    "mediation.not_running": "调解已结束",
    "mediation.not_yours": "该调解不属于您的单位",
    "not_found": "未找到",
    "report.reporter_not_told": "须先告知举报人",
    "request.bad": "请求有误",
    "request.invalid": "填写的内容有误，请检查标出的栏目",
    "request.too_large": "提交的内容过大",
    "request.too_many": "请求过于频繁，请稍后再试",
    "rules.changed": "规则集已被他人修改，请刷新后重试",
    "rules.not_found": "未找到该规则集",
    "rules.stale_version": "规则集已被他人修改，请刷新后重试",
    "users.last_admin": "至少须保留一名在用的管理员",
    "users.self": "管理员不能停用自己或取消自己的管理员角色",
    "users.taken": "该用户名已被使用",
    "users.unknown_unit": "没有这个单位",
    "users.weak_password": "密码太短",
    "users.wrong_unit": (
        "该角色不能属于这个单位（坐席、审计、管理员属指挥中心；承办人属分局；"
        "督办人属指挥中心或分局；维权服务站人员属本站）"
    ),
    "campaigns.changed": "该专项整治已被他人修改，请刷新后重试",
    "campaigns.not_a_report": "只有举报案件可以列入专项整治",
    "campaigns.not_found": "没有这个专项整治",
    "campaigns.period_fixed": "专项整治已开始，期间不能再改",
    "campaigns.taken": "该专项整治编号已被使用",
    "campaigns.unknown_branch": "没有这个分局或县局",
    "campaigns.year": "只能开始本年度或上一年度的专项整治",
    "monitoring.batch_empty": "该批次还没有样品，不能公开",
    "monitoring.batch_exists": "该批次编号已被使用",
    "monitoring.batch_published": "该批次已公开，不能再录入样品",
    "monitoring.changed": "该监测方案已被他人修改，请刷新后重试",
    "monitoring.done_in_future": "退市完成日期不能晚于今天",
    "monitoring.no_batch": "没有这个抽检批次",
    "monitoring.no_cleanup": "没有这个专项清查",
    "monitoring.no_plan": "该年度还没有商品质量监测方案",
    "monitoring.no_sample": "没有这个样品",
    "monitoring.not_a_delisting": "这不是不合格商品退市",
    "monitoring.not_xlsx": "上传的文件不是 Excel（.xlsx）文件",
    "monitoring.plan_exists": "该年度已有监测方案",
    "monitoring.rows_invalid": "导入文件有错误，整个文件未导入；请按行号改正后重新导入",
    "monitoring.sample_exists": "该样品编号已录入",
    "monitoring.sample_invalid": "样品信息有误",
    "monitoring.sample_passed": "该样品检验合格，不能据此立案",
    "monitoring.too_many_rows": "导入文件行数过多",
    "monitoring.unknown_area": "没有这种区域类型",
    "monitoring.unknown_commodity": "商品目录中没有这种商品",
    "reference.changed": "该基础数据已被他人修改，请刷新后重试",
    "reference.in_use": "仍在使用的条目不能删除",
    "reference.invalid": "基础数据填写有误",
    "reference.not_found": "没有这项基础数据",
    "reviews.business_found": "该单位已有评议发现，不能移出被评议单位",
    "reviews.changed": "该社会评议已被他人修改，请刷新后重试",
    "reviews.ended": "该社会评议已结束，评议报告已形成",
    "reviews.finding_exists": "该投诉已记为本次评议的发现",
    "reviews.finding_invalid": "评议发现填写有误",
    "reviews.not_an_order": "这不是评议整改",
    "reviews.not_found": "没有这个社会评议",
    "reviews.period_fixed": "社会评议已开始，期间不能再改",
    "reviews.period_over": "评议期间已过",
    "reviews.taken": "该社会评议编号已被使用",
    "reviews.unknown_sector": "没有这个评议行业",
    "stations.changed": "该站点已被他人修改，请刷新后重试",
    "stations.no_division": "没有这个行政区划",
    "stations.not_branch": "不是分局或县局",
    "stations.not_township": "只能调整乡镇（街道）的所属单位，村（社区）随乡镇调整",
    "stations.not_village": "只能撤并村（社区）",
    "stations.division_exists": "这个统计代码已在区划名录中",
    "stations.division_retired": "这个村（社区）已撤并",
    "stations.division_in_use": "该村（社区）还有在用站点，请先调整或撤销站点",
    "stations.code_outside_township": "村（社区）的统计代码应以所属乡镇（街道）的代码开头",
    "stations.wrong_host": "该站点不是这一类的12315五进站点",
    "stations.year_not_begun": "该年度尚未开始",
    "stations.year_over": "只能下达本年度或上一年度的示范点申报任务",
    "stations.not_a_list": "这不是示范点名单",
    "stations.not_a_rectification": "这不是站点整改",
    "stations.rectification_open": "该站点正在考核，请稍后重试",
    "stations.done_in_future": "整改完成日期不能晚于今天",
    "stations.closed": "该站点已撤销，不能再修改",
    "stations.host_missing": "12315五进站点须填写依托的经营者",
    "stations.item_missing": "考核评价的每一项都须打分",
    "stations.score_range": "得分超出该项分值",
    "stations.unknown_item": "考核标准中没有这一项",
    "stations.not_found": "未找到该站点",
    "stations.outside_branch": "该乡镇（街道）不在本单位辖区",
    "stations.outside_township": "该村（社区）不属于所选乡镇（街道）",
    "stations.taken": "该站点编号已被使用",
    "stations.unknown_branch": "没有这个分局或县局",
    "stations.unknown_division": "没有这个行政区划",
    "stations.unknown_unit": "没有这个维权服务站单位",
    "service.busy": "系统繁忙，请稍后再试",
    "service.unavailable": "流程服务暂时不可用，请稍后再试",
    "step.not_current": "此操作已过时：案件已有新的进展",
    "step.refused": "按规定不能进行此操作",
    "submission.not_found": "未找到该提交",
    "supervision.no_deadline": "该案件没有可督办的时限",
    "supervision.not_handling": "该案件不在办理中，不能督办",
    "supervision.nothing_to_reassign": "没有可改派的事项",
    "task.cancelled": "该待办已取消",
    "task.claimed": "该待办已被同事认领",
    "task.done": "该待办已由同事办结",
    "task.not_claimed": "该待办未被认领",
    "task.not_current": "该待办已过时",
    "task.not_found": "未找到该待办",
    "task.not_yours": "该待办不由您办理",
    "unit.not_found": "未找到该单位",
    "unit.not_yours": "该单位不归您管理",
    "user.not_found": "未找到该用户",
    "csrf.missing": "页面已过期，请刷新后重新提交",
}

# Pydantic's error types, for a field of a form.
FIELD_ERROR = {
    "missing": "必填",
    "string_too_short": "必填",
    "string_too_long": "内容过长",
    "int_parsing": "请填写整数",
    "int_type": "请填写整数",
    "decimal_parsing": "请填写金额，例如 1200.50",
    "decimal_max_places": "金额最多两位小数",
    "decimal_max_digits": "金额过大",
    "greater_than_equal": "数值过小",
    "greater_than": "须大于零",
    "date_from_datetime_parsing": "请填写日期",
    "date_parsing": "请填写日期",
    "literal_error": "请从列表中选择",
    "bool_parsing": "请选择是或否",
    "extra_forbidden": "不应填写此项",
    "union_tag_invalid": "请选择一项",
    "union_tag_not_found": "请选择一项",
}


def error(code: str) -> str:
    """The Chinese message of an error code (its family's, or a general one)."""
    if code in ERROR:
        return ERROR[code]
    family = code.split(".", 1)[0]
    return {"task": "该待办已不可办理", "case": "案件当前不能进行此操作"}.get(
        family, "操作未能完成"
    )


def day(value: date | None) -> str:
    """A date as a clerk writes it: 2026年11月13日."""
    if value is None:
        return "—"
    return f"{value.year}年{value.month}月{value.day}日"


def moment(value: datetime | None) -> str:
    """An instant as a clerk reads it, in Asia/Shanghai: 2026年11月13日 14:05."""
    if value is None:
        return "—"
    local = value.astimezone(_ZONE)
    return f"{day(local.date())} {local:%H:%M}"


def name(table: dict[str, str], code: str | None) -> str:
    """The code's Chinese name, or the code itself (or an empty string for none)."""
    if code is None:
        return ""
    return table.get(code, code)
