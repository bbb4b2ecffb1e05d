"""The custom Temporal search attributes of a case (检索属性), as the ``temporal`` CLI spells
their types, for registering them.

The workflows define them (``workflows.case.SEARCH_ATTRIBUTE_KEYS``); the embedded launcher
(``scripts/run_embedded.py``) registers them on the dev server and the production compose
setup on the cluster, both from this table. Values are stored unencrypted in Temporal's
visibility store: never put personal data (names, phone numbers, addresses) in them.
"""

from temporalio.common import SearchAttributeIndexedValueType as Indexed

from workflows.case import SEARCH_ATTRIBUTE_KEYS

_CLI_TYPES = {
    Indexed.KEYWORD: "Keyword",
    Indexed.DATETIME: "Datetime",
    Indexed.BOOL: "Bool",
    Indexed.INT: "Int",
    Indexed.DOUBLE: "Double",
    Indexed.TEXT: "Text",
    Indexed.KEYWORD_LIST: "KeywordList",
}

SEARCH_ATTRIBUTES: dict[str, str] = {
    key.name: _CLI_TYPES[key.indexed_value_type] for key in SEARCH_ATTRIBUTE_KEYS
}
