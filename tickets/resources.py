"""Importing historic tickets (django-import-export, CSV or XLSX): tickets reported before the
portal ran them, each opened at its own time so its clocks read as they would have.

Every row is checked before anything is written, by the same service that opens a ticket in
the admin (`ticket_open`, rehearsed in a savepoint that is rolled back), and each problem is
reported by row and column. If any row is refused, nothing of the file is saved. An imported
ticket is opened only: replies, resolution and closing are recorded on it afterwards.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from import_export import fields

from accounts.models import LineOfBusiness, User
from cso.models import Contract, PackageSubscription
from portal.imports import (
    KEY_PREFIX,
    CheckedImportResource,
    Skip,
    keys_imported_before,
    rows_check_all,
)
from portal.imports import cell_text as _text
from portal.imports import error_add as _add
from tickets.models import Ticket
from tickets.services.tickets import may_work_tickets, ticket_open

# Each column of the file, and where a ticket keeps it (shown in the import preview).
COLUMNS = {
    "contract": "subscription__contract__reference",
    "package": "subscription__package__code",
    "subject": "subject",
    "severity": "severity",
    "kind": "kind",
    "channel": "channel",
    "opened_at": "opened_at",
    "line_of_business": "line_of_business__name",
    "description": "description",
    "reference": "import_reference",
}
# What the preview shows of each new ticket, worked out by the service.
PREVIEW_COLUMNS = {"sla_policy": "sla_policy__name", "status": "status"}
# Headers as people write them.
HEADER_ALIASES = {
    "contract_reference": "contract",
    "package_code": "package",
    "import_reference": "reference",
    "opened": "opened_at",
}
EXAMPLE_TIME = "2026-03-02T09:30:00+01:00"
REQUIRED = {
    "contract": "Give the contract's reference.",
    "package": "Give the package's code, such as premier.",
    "subject": "Give the ticket's subject.",
    "severity": "Give the severity, as the package's SLA policy names it (such as P1).",
    "kind": "Give the kind: bug or non_bug.",
    "channel": "Give the channel: web, phone, chat, messaging or email.",
    "opened_at": f"Give the opening time with its UTC offset, like {EXAMPLE_TIME}.",
}
SUBJECT_LENGTH = Ticket._meta.get_field("subject").max_length
MAX_REFERENCE = Ticket._meta.get_field("import_reference").max_length - len(KEY_PREFIX)
# The service's name for a problem -> the column of the file it comes from. The contract's
# term is checked against the opening time.
SERVICE_FIELD_COLUMNS = {"subscription": "opened_at", "import_reference": "reference"}


@dataclass
class _Entry:
    """A row that passed every check: what `ticket_open` will be called with."""

    arguments: dict
    key: str  # the ticket's import_reference
    content: str


def _header(name) -> str:
    name = str(name or "").strip().lower().replace(" ", "_").replace("-", "_")
    return HEADER_ALIASES.get(name, name)


class TicketResource(CheckedImportResource):
    """Historic tickets, one a row.

    Columns: `contract` (its reference), `package` (its code, such as premier), `subject`,
    `severity` (a severity of the package's policy: P1 to P3, or 1 to 3 on standard support),
    `kind` (bug or non_bug), `channel` (web, phone, chat, messaging or email), `opened_at`
    (ISO 8601 with a UTC offset, like 2026-03-02T09:30:00+01:00), and optionally
    `line_of_business` (its name; needed when the contract has the package more than once),
    `description` and `reference` (the ticket's id in the system it comes from).

    Identity: a row with a `reference` is the ticket imported as "import:<reference>"; a row
    without one is "row:" + the SHA-256 of its normalized content. A row whose ticket was
    imported before is skipped and reported as skipped, so importing the same file again adds
    nothing, even if its other columns changed since (work that ticket in the admin). Two
    identical rows are one ticket; two rows with one reference and different values are refused.
    """

    class Meta:
        model = Ticket
        fields = ()  # the columns below, made in __init__
        import_id_fields = ()
        use_transactions = True

    key_field = "import_reference"

    def __init__(self, now: datetime | None = None, **kwargs):
        super().__init__(now=now, **kwargs)
        self.fields = {
            column: fields.Field(attribute=attribute, column_name=column)
            for column, attribute in COLUMNS.items()
        }
        for column, attribute in PREVIEW_COLUMNS.items():
            self.fields[column] = fields.Field(
                attribute=attribute, column_name=column, readonly=True
            )

    # The import -------------------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        user = kwargs.get("user")
        if user is None:
            raise ValueError("Tickets are imported by a signed-in support engineer; pass user=.")
        if not may_work_tickets(user):
            raise PermissionDenied("Only support staff import tickets.")
        self.now = self.now or timezone.now()
        dataset.headers = [_header(header) for header in dataset.headers]
        rows = [dict(zip(dataset.headers, values, strict=False)) for values in dataset]
        self.checked = _RowChecker(user=user, now=self.now).check_all(rows)

    def preview(self, instance: Ticket, entry: _Entry) -> None:
        # Shown in the preview; `ticket_open` makes the ticket itself.
        arguments = entry.arguments
        instance.subscription = arguments["subscription"]
        instance.line_of_business = arguments["line_of_business"]
        instance.opened_at = arguments["opened_at"]
        instance.import_reference = entry.key
        for name in ("subject", "description", "severity", "kind", "channel"):
            setattr(instance, name, arguments[name])

    def write(self, entry: _Entry) -> Ticket:
        return ticket_open(**entry.arguments)


class _Rehearsal(Exception):
    """Rolls back a ticket opened only to learn whether the service accepts the row."""


class _RowChecker:
    """Resolves and checks every row of a file, before the first is written."""

    def __init__(self, *, user: User, now: datetime):
        self.user = user
        self.now = now
        self.found: dict = {}

    def check_all(self, rows: list[dict]) -> dict:
        existing = keys_imported_before(Ticket, "import_reference", rows, "reference")
        return rows_check_all(rows, lambda row: self.check(row, existing), id_column="reference")

    def check(self, row: dict, existing: set[str]) -> _Entry | Skip | ValidationError:
        reference = _text(row, "reference")
        if reference and KEY_PREFIX + reference in existing:
            return Skip(KEY_PREFIX + reference)
        errors: dict[str, list[str]] = {}
        for column, message in REQUIRED.items():
            if not _text(row, column):
                _add(errors, column, message)
        if len(_text(row, "subject")) > SUBJECT_LENGTH:
            _add(errors, "subject", f"A subject has at most {SUBJECT_LENGTH} characters.")
        if len(reference) > MAX_REFERENCE:
            _add(errors, "reference", f"A reference has at most {MAX_REFERENCE} characters.")
        arguments = self._arguments(row, errors)
        if arguments is None or errors:
            return ValidationError(errors)
        content = self._content(arguments)
        key = KEY_PREFIX + reference if reference else "row:" + sha256(content.encode()).hexdigest()
        if not reference and Ticket.objects.filter(import_reference=key).exists():
            return Skip(key)
        arguments["import_reference"] = key
        try:
            with transaction.atomic():
                ticket_open(**arguments)
                raise _Rehearsal
        except _Rehearsal:
            pass
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(SERVICE_FIELD_COLUMNS.get(field, field), messages)
        if errors:
            return ValidationError(errors)
        return _Entry(arguments, key, content)

    def _arguments(self, row: dict, errors: dict) -> dict | None:
        """The row as `ticket_open`'s arguments; None when a column cannot be read."""
        contract = self._contract(_text(row, "contract"), errors)
        line = subscription = None
        if contract is not None:
            line = self._line(contract, _text(row, "line_of_business"), errors)
        if contract is not None and "line_of_business" not in errors:
            subscription = self._subscription(contract, _text(row, "package"), line, errors)
        opened_at = self._time(row.get("opened_at"), errors)
        kind = self._choice(row, "kind", Ticket.Kind, "bug or non_bug", errors)
        channel = self._choice(
            row, "channel", Ticket.Channel, "web, phone, chat, messaging or email", errors
        )
        if None in (subscription, opened_at, kind, channel):
            return None
        return {
            "subscription": subscription,
            "subject": _text(row, "subject"),
            "severity": _text(row, "severity"),
            "opened_by": self.user,
            "now": self.now,
            "description": _text(row, "description"),
            "kind": kind,
            "channel": channel,
            "line_of_business": line,
            "opened_at": opened_at,
        }

    @staticmethod
    def _content(arguments: dict) -> str:
        """The row as it will be stored, so "Bug" and "bug", or two offsets of one moment,
        are one row."""
        subscription, line = arguments["subscription"], arguments["line_of_business"]
        return json.dumps(
            [
                subscription.contract.reference,
                subscription.package.code,
                arguments["subject"],
                arguments["severity"],
                arguments["kind"],
                arguments["channel"],
                arguments["opened_at"].astimezone(UTC).isoformat(),
                line.name.lower() if line else "",
                arguments["description"],
            ]
        )

    # Each column ------------------------------------------------------------------------

    def _cached(self, key: tuple, load):
        if key not in self.found:
            self.found[key] = load()
        return self.found[key]

    def _contract(self, value: str, errors: dict) -> Contract | None:
        if not value:
            return None
        contract = self._cached(
            ("contract", value),
            Contract.objects.filter(reference=value).select_related("organization").first,
        )
        if contract is None:
            _add(errors, "contract", f"No contract has the reference '{value}'.")
        return contract

    def _line(self, contract: Contract, value: str, errors: dict) -> LineOfBusiness | None:
        if not value:
            return None
        organization = contract.organization
        line = self._cached(
            ("line", organization.pk, value.lower()),
            LineOfBusiness.objects.filter(organization=organization, name__iexact=value).first,
        )
        if line is None:
            message = f"{organization.name} has no line of business '{value}'."
            _add(errors, "line_of_business", message)
        return line

    def _subscription(
        self, contract: Contract, code: str, line, errors: dict
    ) -> PackageSubscription | None:
        if not code:
            return None
        found = self._cached(
            ("package", contract.pk, code.lower()),
            lambda: list(
                contract.subscriptions.filter(package__code__iexact=code)
                .select_related("contract__organization", "package")
                .prefetch_related("lines_of_business")
            ),
        )
        subscriptions = [s for s in found if line is None or line in s.lines_of_business.all()]
        if len(subscriptions) == 1:
            return subscriptions[0]
        if subscriptions:
            message = f"{contract.reference} has {len(subscriptions)} '{code}' packages; name "
            _add(errors, "line_of_business", message + "the line of business the ticket is for.")
        else:
            covering = f" covering {line.name}" if line else ""
            _add(errors, "package", f"{contract.reference} has no '{code}' package{covering}.")
        return None

    def _time(self, value, errors: dict) -> datetime | None:
        if value is None or not str(value).strip():
            return None
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                _add(
                    errors,
                    "opened_at",
                    f"'{value}' is not a time: write it like {EXAMPLE_TIME}.",
                )
                return None
        if moment.tzinfo is None:
            _add(
                errors,
                "opened_at",
                f"'{value}' has no UTC offset: write it like {EXAMPLE_TIME}.",
            )
            return None
        return moment

    @staticmethod
    def _choice(row: dict, column: str, choices, expected: str, errors: dict) -> str | None:
        value = _text(row, column)
        if not value:
            return None
        said = value.lower().replace("-", "_").replace(" ", "_")
        for code, label in choices.choices:
            if said in (code, label.lower().replace("-", "_").replace(" ", "_")):
                return code
        _add(errors, column, f"'{value}' is not a {column}: use {expected}.")
        return None
