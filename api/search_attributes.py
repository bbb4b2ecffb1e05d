"""The custom Temporal search attributes of a case (检索属性), defined once.

The embedded launcher (``scripts/run_embedded.py``) registers them on the dev server and the
production compose setup registers them on the cluster; both read this table. Types are
spelled as the ``temporal`` CLI spells them. Values are stored unencrypted in Temporal's
visibility store: never put personal data (names, phone numbers, addresses) in them.
"""

SEARCH_ATTRIBUTES: dict[str, str] = {
    "CaseNo": "Keyword",  # 案件编号
    "CaseKind": "Keyword",  # 投诉 / 举报
    "CaseStatus": "Keyword",  # 案件状态
    "HandlingUnit": "Keyword",  # 承办单位
    "NextDeadline": "Datetime",  # 下一个办理时限
    "Overdue": "Bool",  # 超期
    "Supervised": "Bool",  # 督办
}
