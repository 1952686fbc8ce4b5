"""Import and export of the hour bank (django-import-export): time entries in, overage out.

Importing time entries (CSV or XLSX, one entry a row; columns in `TimeEntryResource`) checks
every row before anything is written and saves each through `time_entry_log`, the same service
the admin form uses, so an imported entry meets every rule a typed one does.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from hashlib import sha256

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from import_export import fields

from accounts.models import LineOfBusiness, Organization, User
from accounts.selectors import organizations_editable_by
from portal.imports import (
    KEY_PREFIX,
    CheckedImportResource,
    Skip,
    keys_imported_before,
    rows_check_all,
)
from portal.imports import cell_text as _text
from portal.imports import error_add as _add

from ..models import (
    Contract,
    ExpansionScope,
    PackageSubscription,
    Program,
    SubscriptionEntitlement,
    TimeEntry,
)
from ..services.time_entries import EntryFields, time_entry_check, time_entry_log

# Each column of the file, and where an entry keeps it (shown in the import preview).
COLUMNS = {
    "entry_id": "source_key",
    "customer": "subscription__contract__organization__slug",
    "contract": "subscription__contract__reference",
    "package": "subscription__package__code",
    "worked_on": "worked_on",
    "hours": "hours",
    "program": "program__code",
    "line_of_business": "line_of_business__name",
    "deliverable": "entitlement__deliverable__code",
    "expansion_scope": "expansion_scope_id",
    "description": "description",
    "logged_by": "logged_by__email",
}
# The preview also shows how the budget splits each new entry (Section 1).
PREVIEW_COLUMNS = ("included_hours", "overage_hours", "prepaid_hours", "additional_cost_hours")
REQUIRED = {
    "customer": "Name the customer by its slug or name.",
    "contract": "Give the contract's reference.",
    "package": "Give the package's code.",
    "worked_on": "Give the day worked, as YYYY-MM-DD.",
    "hours": "Give the hours worked.",
    "program": "Name the program.",
}
MAX_ENTRY_ID = 100 - len(KEY_PREFIX)
# The service names the deliverable by the subscription's entitlement; the file by its code.
SERVICE_FIELD_COLUMNS = {"entitlement": "deliverable"}


@dataclass
class _Entry:
    """A row that passed every check: what `time_entry_log` will be called with."""

    subscription: PackageSubscription
    fields: EntryFields
    logged_by: User
    key: str  # the entry's source_key
    content: str


class TimeEntryResource(CheckedImportResource):
    """Time entries, one a row.

    Columns: `entry_id` (optional: the source system's id), `customer` (slug, or name in any case),
    `contract` (reference), `package` (code, e.g. premier), `worked_on` (YYYY-MM-DD), `hours`,
    `program` (code or name), `line_of_business` (name, optional), `deliverable` (deliverable
    code, optional), `expansion_scope` (scope id, optional), `description`, `logged_by` (the
    CSM's email; the importing person when blank).

    Every row is checked before anything is written, and each problem is reported by row and
    column. If any row is refused, nothing of the file is saved.

    Identity: a row with an `entry_id` is the entry "import:<entry_id>"; a row without one is
    "row:" + the SHA-256 of its normalized content (customer slug, contract reference, package
    code, worked_on, hours to two decimals, program code, line of business, deliverable code,
    expansion scope id, description, logged_by email). A row whose entry is already in the hour
    bank is skipped and reported as skipped, so importing the same file again adds nothing;
    it is skipped even if its other columns changed since (change that entry in the admin).
    Two identical rows without `entry_id` in one file are one entry: the second is skipped. Two
    rows with the same `entry_id` and different content are refused.
    """

    class Meta:
        model = TimeEntry
        fields = ()  # the columns below, made in __init__
        import_id_fields = ()
        use_transactions = True

    key_field = "source_key"

    def __init__(self, now: datetime | None = None, **kwargs):
        super().__init__(now=now, **kwargs)
        self.fields = {
            column: fields.Field(attribute=attribute, column_name=column)
            for column, attribute in COLUMNS.items()
        }
        for column in PREVIEW_COLUMNS:
            self.fields[column] = fields.Field(attribute=column, column_name=column, readonly=True)

    # The import -------------------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        user = kwargs.get("user")
        if user is None:
            raise ValueError("Time is imported by a signed-in CSM; pass user=.")
        self.now = self.now or timezone.now()
        dataset.headers = [str(header or "").strip().lower() for header in dataset.headers]
        self.checked = _RowChecker(user=user, now=self.now).check_all(
            [dict(zip(dataset.headers, values, strict=False)) for values in dataset]
        )

    def preview(self, instance: TimeEntry, entry: _Entry) -> None:
        # Shown in the preview; `time_entry_log` makes the entry itself.
        instance.subscription = entry.subscription
        instance.logged_by = entry.logged_by
        instance.source_key = entry.key
        for name in ("worked_on", "hours", "program", "line_of_business", "entitlement"):
            setattr(instance, name, getattr(entry.fields, name))
        instance.expansion_scope = entry.fields.expansion_scope
        instance.description = entry.fields.description

    def write(self, entry: _Entry) -> TimeEntry:
        return time_entry_log(
            subscription=entry.subscription,
            fields=entry.fields,
            logged_by=entry.logged_by,
            now=self.now,
            source_key=entry.key,
        )


class _RowChecker:
    """Resolves and checks every row of a file, before the first is written."""

    def __init__(self, *, user: User, now: datetime):
        self.user = user
        self.now = now
        self.found: dict = {}

    def check_all(self, rows: list[dict]) -> dict:
        existing = keys_imported_before(TimeEntry, "source_key", rows, "entry_id")
        return rows_check_all(rows, lambda row: self.check(row, existing), id_column="entry_id")

    def check(self, row: dict, existing: set[str]) -> _Entry | Skip | ValidationError:
        entry_id = _text(row, "entry_id")
        if entry_id and KEY_PREFIX + entry_id in existing:
            return Skip(KEY_PREFIX + entry_id)
        errors: dict[str, list[str]] = {}
        for column, message in REQUIRED.items():
            if not _text(row, column):
                _add(errors, column, message)
        if len(entry_id) > MAX_ENTRY_ID:
            _add(errors, "entry_id", f"An entry_id has at most {MAX_ENTRY_ID} characters.")
        resolved = self._resolve(row, errors)
        if resolved is None:
            return ValidationError(errors)
        subscription, fields, logged_by = resolved
        content = self._content(subscription, fields, logged_by)
        key = KEY_PREFIX + entry_id if entry_id else "row:" + sha256(content.encode()).hexdigest()
        if not errors and TimeEntry.objects.filter(source_key=key).exists():
            return Skip(key)
        try:
            time_entry_check(subscription=subscription, fields=fields, now=self.now)
        except ValidationError as error:
            # Only for the columns not already refused: one reason each is enough.
            for field, messages in error.message_dict.items():
                errors.setdefault(SERVICE_FIELD_COLUMNS.get(field, field), messages)
        if errors:
            return ValidationError(errors)
        return _Entry(subscription, fields, logged_by, key, content)

    def _resolve(self, row: dict, errors: dict):
        """The row's customer, contract, package... as objects; None when one cannot be found."""
        organization = self._organization(_text(row, "customer"), errors)
        contract = line = subscription = None
        if organization is not None:
            contract = self._contract(organization, _text(row, "contract"), errors)
            line = self._line(organization, _text(row, "line_of_business"), errors)
        if contract is not None and "line_of_business" not in errors:
            subscription = self._subscription(contract, _text(row, "package"), line, errors)
        worked_on = self._date(row.get("worked_on"), errors)
        program = self._program(_text(row, "program"), errors)
        entitlement = scope = None
        if subscription is not None:
            entitlement = self._entitlement(subscription, _text(row, "deliverable"), errors)
            scope = self._scope(subscription, _text(row, "expansion_scope"), errors)
        logged_by = self._logged_by(_text(row, "logged_by"), organization, errors)
        if None in (subscription, worked_on, program, logged_by) or not _text(row, "hours"):
            return None
        fields = EntryFields(
            worked_on=worked_on,
            hours=_text(row, "hours"),
            program=program,
            line_of_business=line,
            entitlement=entitlement,
            expansion_scope=scope,
            description=_text(row, "description"),
        )
        return subscription, fields, logged_by

    @staticmethod
    def _content(subscription, fields: EntryFields, logged_by: User) -> str:
        """The row as it will be stored, so "4" and "4.00" or a name and a slug are one row."""
        try:
            hours = f"{Decimal(str(fields.hours)).quantize(Decimal('0.01'))}"
        except (InvalidOperation, ValueError):
            hours = str(fields.hours)
        return json.dumps(
            [
                subscription.contract.organization.slug,
                subscription.contract.reference,
                subscription.package.code,
                fields.worked_on.isoformat(),
                hours,
                fields.program.code,
                fields.line_of_business.name.lower() if fields.line_of_business else "",
                fields.entitlement.deliverable.code if fields.entitlement else "",
                fields.expansion_scope.pk if fields.expansion_scope else "",
                fields.description,
                logged_by.email.lower(),
            ]
        )

    # Each column ------------------------------------------------------------------------

    def _find(self, errors: dict, column: str, value: str, load, missing: str, *key):
        """`load()` once per file for each value; a value nothing has is refused: `missing`."""
        if not value:
            return None
        key = (column, value.lower(), *key)
        if key not in self.found:
            self.found[key] = load()
        if self.found[key] is None:
            _add(errors, column, missing)
        return self.found[key]

    def _editable_ids(self, user: User) -> frozenset[int]:
        key = ("editable", user.pk)
        if key not in self.found:
            editable = organizations_editable_by(user).values_list("pk", flat=True)
            self.found[key] = frozenset(editable)
        return self.found[key]

    def _organization(self, value: str, errors: dict) -> Organization | None:
        def load():
            matches = Organization.objects.filter(Q(slug=value) | Q(name__iexact=value))
            return next((o for o in matches if o.slug == value), None) or matches.first()

        missing = f"No customer has the slug or name '{value}'."
        organization = self._find(errors, "customer", value, load, missing)
        if organization is not None and organization.pk not in self._editable_ids(self.user):
            message = f"{organization.name} is not one of your customers; its CSM imports its time."
            _add(errors, "customer", message)
            return None
        return organization

    def _contract(self, organization, value: str, errors: dict) -> Contract | None:
        contracts = Contract.objects.filter(organization=organization, reference=value)
        missing = f"{organization.name} has no contract '{value}'."
        return self._find(errors, "contract", value, contracts.first, missing, organization.pk)

    def _line(self, organization, value: str, errors: dict) -> LineOfBusiness | None:
        lines = LineOfBusiness.objects.filter(organization=organization, name__iexact=value)
        missing = f"{organization.name} has no line of business '{value}'."
        return self._find(errors, "line_of_business", value, lines.first, missing, organization.pk)

    def _subscription(self, contract, code: str, line, errors: dict):
        if not code:
            return None
        key = ("package", code.lower(), contract.pk)
        if key not in self.found:
            self.found[key] = list(
                contract.subscriptions.filter(package__code__iexact=code)
                .select_related("contract__organization", "package")
                .prefetch_related("lines_of_business")
            )
        subscriptions = [
            s for s in self.found[key] if line is None or line in s.lines_of_business.all()
        ]
        if len(subscriptions) == 1:
            return subscriptions[0]
        if subscriptions:
            message = f"{contract.reference} has {len(subscriptions)} '{code}' packages; name "
            _add(errors, "line_of_business", message + "the line of business worked for.")
        else:
            covering = f" covering {line.name}" if line else ""
            _add(errors, "package", f"{contract.reference} has no '{code}' package{covering}.")
        return None

    def _date(self, value, errors: dict) -> date | None:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date) or value is None or not str(value).strip():
            return value or None
        try:
            return datetime.strptime(str(value).strip(), "%Y-%m-%d").date()
        except ValueError:
            _add(errors, "worked_on", f"'{value}' is not a date; write it as YYYY-MM-DD.")
            return None

    def _program(self, value: str, errors: dict) -> Program | None:
        programs = Program.objects.filter(Q(code=value) | Q(name__iexact=value))
        return self._find(errors, "program", value, programs.first, f"No program is '{value}'.")

    def _entitlement(self, subscription, code: str, errors: dict):
        entitlements = SubscriptionEntitlement.objects.filter(
            subscription=subscription, deliverable__code=code
        ).select_related("deliverable__program")
        missing = f"{subscription} has no deliverable '{code}'."
        return self._find(errors, "deliverable", code, entitlements.first, missing, subscription.pk)

    def _scope(self, subscription, value: str, errors: dict) -> ExpansionScope | None:
        scopes = ExpansionScope.objects.filter(subscription=subscription)
        scope = scopes.filter(pk=int(value)).first() if value.isdigit() else None
        if value and scope is None:
            _add(errors, "expansion_scope", f"{subscription} has no expansion scope '{value}'.")
        return scope

    def _logged_by(self, email: str, organization, errors: dict) -> User | None:
        people = User.objects.filter(email__iexact=email)
        missing = f"No one has the email '{email}'."
        person = (
            self._find(errors, "logged_by", email, people.first, missing) if email else self.user
        )
        if person is not None and organization is not None:
            if organization.pk not in self._editable_ids(person):
                _add(errors, "logged_by", f"{person.email} is not a CSM of {organization.name}.")
                return None
        return person


# The finance export ----------------------------------------------------------------------
