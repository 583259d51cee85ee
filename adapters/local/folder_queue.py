"""A local folder as QueueSender (``dq run``): one JSON file per message under
``{root}/{tenant}/{queue}/``, named so that a listing sorts in sending order."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from dq_core.errors import ConfigError
from dq_core.identifiers import is_id, is_tenant


class LocalQueueSender:
    def __init__(self, root: Path) -> None:
        self._root = root

    def folder(self, tenant: str, queue: str) -> Path:
        for what, name, valid in (("tenant", tenant, is_tenant), ("queue", queue, is_id)):
            if not valid(name):
                raise ConfigError(f"{what} {name!r} cannot name a local queue folder")
        return self._root / tenant / queue

    def send(self, tenant: str, queue: str, message: str) -> str:
        folder = self.folder(tenant, queue)
        folder.mkdir(parents=True, exist_ok=True)
        message_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        temporary = folder / f".{message_id}.{os.getpid()}.tmp"
        temporary.write_text(message, encoding="utf-8")
        temporary.replace(folder / f"{message_id}.json")  # readers never see half a message
        return message_id

    def messages(self, tenant: str, queue: str) -> list[str]:
        """Every message of the queue, oldest first (what a local consumer or a test reads)."""
        folder = self.folder(tenant, queue)
        if not folder.is_dir():
            return []
        return [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.json"))]
