"""State shared by the commands of one ``hookflow`` invocation: settings, the
store, a Temporal client, and the stop signal of the long-running ones."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import click

from worker.cli.output import CommandError

if TYPE_CHECKING:  # imported when used: `hookflow --help` loads none of them
    from sqlalchemy.engine import Engine
    from temporalio.client import Client

    from activities.store.crypto import SecretBox
    from worker.runtime.settings import Settings


@dataclass
class AppContext:
    """What every command shares: settings, and the store once it is opened."""

    data_dir: str | None
    _settings: Settings | None = None
    _store: tuple[Engine, SecretBox] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from worker.runtime.settings import Settings

            self._settings = Settings.from_env(data_dir=self.data_dir)
        return self._settings

    def store(self) -> tuple[Engine, SecretBox]:
        if self._store is None:
            settings = self.settings
            # A cluster's worker may keep nothing there: PostgreSQL, key from the environment.
            if not settings.secret_key_env or str(settings.data_dir) in settings.database_url:
                from worker.devstack.stack import require_data_dir

                require_data_dir(settings.data_dir, given=settings.data_dir_given)
            from worker.runtime.store import open_store

            self._store = open_store(settings)
        return self._store


pass_app = click.make_pass_decorator(AppContext)

T = TypeVar("T")


def connector(settings: Settings) -> Callable[[], Awaitable[Client]]:
    """Connects to Temporal when called; a failure is one line for the user."""

    async def connect_() -> Client:
        if not settings.codec_key_env:  # the key file lives in the data dir
            from worker.devstack.stack import require_data_dir

            require_data_dir(settings.data_dir, given=settings.data_dir_given)
        from worker.runtime.assembly import connect

        try:
            return await connect(settings)
        except (RuntimeError, ValueError) as err:
            raise CommandError(
                f"cannot reach Temporal at {settings.temporal_address}: is hookflow up? ({err})"
            ) from None

    return connect_


def run_with_client(settings: Settings, work: Callable[[Client], Awaitable[T]]) -> T:
    async def _run() -> T:
        return await work(await connector(settings)())

    return asyncio.run(_run())


def stop_event() -> asyncio.Event:
    """Set on Ctrl-C or SIGTERM: how the long-running commands stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
