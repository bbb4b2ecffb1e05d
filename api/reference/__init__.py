"""The admin's reference documents (基础数据): which there are, what each must hold and what
it may not drop while recorded data names it, and their routes (``api.documents`` keeps
them)."""
