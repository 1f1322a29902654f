"""What the retention workflow and its activity exchange."""

from __future__ import annotations

from pydantic import Field

from activities.contracts.base import Model, Slug


class RetentionInput(Model):
    """What to delete: every project at its own retention, or one project;
    ``older_than`` (seconds) in place of the projects' retentions."""

    project: Slug | None = None
    older_than: float | None = Field(default=None, gt=0)
    dry_run: bool = False


class RetentionResult(Model):
    """What went (or, on a dry run, would go)."""

    deliveries: int = 0
    attempts: int = 0
    documents: int = 0
    archives: int = 0
    kept_open: int = 0
    """Settled deliveries old enough to go that carry files of a session still open."""
    projects: dict[str, int] = Field(default_factory=dict)
    """Deliveries per project."""

    def add(self, other: RetentionResult) -> RetentionResult:
        projects = dict(self.projects)
        for name, count in other.projects.items():
            projects[name] = projects.get(name, 0) + count
        return RetentionResult(
            deliveries=self.deliveries + other.deliveries,
            attempts=self.attempts + other.attempts,
            documents=self.documents + other.documents,
            archives=self.archives + other.archives,
            kept_open=self.kept_open + other.kept_open,
            projects=projects,
        )
