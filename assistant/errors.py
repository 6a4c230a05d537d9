"""The assistant's errors, in one place.

The CLI turns these into an exit code and a message; the API layer maps them to
HTTP status codes (``api/errors.py``). Nothing below the API knows about HTTP.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """Raised when a setting has a value the assistant cannot use."""


class CorpusError(AssistantError):
    """Raised when the corpus does not validate.

    ``problems`` holds every problem found, each naming the file and field, so a
    staff member can fix them all in one pass rather than one per run.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the corpus:\n" + "\n".join(self.problems))


class ModelError(AssistantError):
    """Raised when the embedding model cannot be built, found or loaded."""


class ModelVerificationError(ModelError):
    """Raised when a built model disagrees with its reference beyond the threshold."""


class IndexError_(AssistantError):
    """Raised when the search index is missing, unreadable or built for another corpus or model.

    Named with a trailing underscore so it never shadows the builtin ``IndexError``.
    """


class StaleIndexError(IndexError_):
    """Raised when the current index was built from another corpus or model than the one configured."""


class PublishError(AssistantError):
    """Raised when a publish or a rollback cannot proceed (nothing to roll back to, a version is missing)."""


class PublishBusyError(PublishError):
    """Raised when another publish (or index build, or rollback) holds the index folder's lock."""


class QuestionError(AssistantError):
    """Raised when a question cannot be answered as asked (empty, too long, not text)."""


class NotFoundError(AssistantError):
    """Raised when a requested project (or other record) does not exist."""


class StoreError(AssistantError):
    """Raised when the store (the database of questions, feedback and conversations) cannot be used."""


class StoreUnavailableError(StoreError):
    """Raised when the database cannot be reached (or stays locked) for something that needs it now.

    Answering never raises it: recording waits and retries, conversations fall back to memory.
    Feedback, the admin routes and the CLI's ``db``, ``purge`` and ``report`` commands do.
    """


class StoreVersionError(StoreError):
    """Raised when the database's schema revision is unknown to this code (a newer version migrated it)."""


class TriageError(AssistantError):
    """Raised when a staff triage cannot be written to the eval inbox (an unknown project, an empty question)."""
