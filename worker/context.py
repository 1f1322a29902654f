"""State shared by the commands of one ``hookflow`` invocation."""

from __future__ import annotations

from dataclasses import dataclass, field

import click
from sqlalchemy.engine import Engine

from activities.store.crypto import SecretBox
from worker.assembly import open_store
from worker.settings import Settings
from worker.stack import require_data_dir


@dataclass
class AppContext:
    """What every command shares: settings, and the store once it is opened."""

    data_dir: str | None
    _settings: Settings | None = None
    _store: tuple[Engine, SecretBox] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env(data_dir=self.data_dir)
        return self._settings

    def store(self) -> tuple[Engine, SecretBox]:
        if self._store is None:
            settings = self.settings
            # A cluster's worker may keep nothing there: PostgreSQL, key from the environment.
            if not settings.secret_key_env or str(settings.data_dir) in settings.database_url:
                require_data_dir(settings.data_dir, given=settings.data_dir_given)
            self._store = open_store(settings)
        return self._store


pass_app = click.make_pass_decorator(AppContext)
