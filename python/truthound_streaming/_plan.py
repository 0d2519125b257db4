"""What the engine adapters (``ray``, ``spark``) share: a plan's text and shares, and one share
read as an Arrow table with :meth:`KafkaDataSource.from_plan`."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple, Union

from . import KafkaDataSource, KafkaDataSourceConfig


def load(plan: Union[str, "os.PathLike[str]"]) -> Tuple[str, Dict[str, Any]]:
    """The plan's JSON text (``plan`` is the text or the path of its file) and the parsed plan;
    ``ValueError`` when it has no shares."""
    text = os.fspath(plan)
    if not text.lstrip().startswith("{"):
        with open(text, encoding="utf-8") as f:
            text = f.read()
    parsed = json.loads(text)
    shares = parsed.get("shares") if isinstance(parsed, dict) else None
    if not isinstance(shares, list) or not shares:
        raise ValueError("the plan has no shares")
    return text, parsed


def share_is_empty(ranges: List[Dict[str, Any]]) -> bool:
    """Whether a share's offset ranges hold no offset at all."""
    return all(r.get("end", 0) <= r.get("start", 0) for r in ranges)


def read_share(plan: str, share: int, config: Optional[KafkaDataSourceConfig]) -> Any:
    """Share ``share`` of the plan (its JSON) as a ``pyarrow.Table``."""
    import polars as pl

    frame = KafkaDataSource.from_plan(plan, share, config).to_polars_dataframe()
    # The oldest Arrow types (large strings rather than views) read everywhere.
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())
