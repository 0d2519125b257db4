"""A Ray Data datasource over a snapshot plan: one read task per share.

```python
import ray
from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig
from truthound_streaming.ray import TruthoundKafkaDatasource

config = KafkaDataSourceConfig(bootstrap_servers="localhost:9092", topic="events",
                               include_metadata=True)
with KafkaDataSource(config) as source:
    plan = source.plan(shares=8)
ds = ray.data.read_datasource(TruthoundKafkaDatasource(plan, config))
```

Each task reads its share with :meth:`KafkaDataSource.from_plan` (exactly the share's offset
ranges) and yields the frame as an Arrow table. ``config`` gives the tasks their credentials
and timeout: it travels to the workers with the tasks, passwords included. Ray is not a
dependency of the package: this module imports it.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Union

from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from . import KafkaDataSourceConfig, _plan

__all__ = ["TruthoundKafkaDatasource"]


def _read_share(plan: str, share: int, config: Optional[KafkaDataSourceConfig]) -> List[Any]:
    return [_plan.read_share(plan, share, config)]


class TruthoundKafkaDatasource(Datasource):
    """The shares of a plan (its JSON, or the path of its file) as Ray read tasks."""

    def __init__(
        self,
        plan: Union[str, "os.PathLike[str]"],
        config: Optional[KafkaDataSourceConfig] = None,
    ) -> None:
        text, parsed = _plan.load(plan)
        self._plan = text
        self._config = config
        self._shares = len(parsed["shares"])

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return None

    def get_read_tasks(
        self,
        parallelism: int,
        per_task_row_limit: Optional[int] = None,
        data_context: Any = None,
    ) -> List[ReadTask]:
        """One task per share, whatever ``parallelism`` asks: the plan fixed the split."""
        plan, config = self._plan, self._config
        tasks = []
        for share in range(self._shares):
            # A share's rows are not known before it is read (compaction, messages that do
            # not decode): no count is given.
            meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None)

            def read(share: int = share) -> List[Any]:
                return _read_share(plan, share, config)

            tasks.append(ReadTask(read, meta, per_task_row_limit=per_task_row_limit))
        return tasks
