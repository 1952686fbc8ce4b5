"""File imports that check every row before the first is written (django-import-export).

Time entries and historic tickets are imported the same way: the whole file is resolved and
checked by the service's own rules first; a row imported before (by its source id, or by its
content) is skipped; if any row is refused, nothing of the file is saved and each problem is
reported by row and column. Each import keeps its rows, its checks and its service call; this
module keeps the machinery they share.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from import_export import resources

# An imported record's key: "import:<the source system's id>" or "row:<sha256 of its content>".
KEY_PREFIX = "import:"


@dataclass
class Skip:
    """A row imported before, or repeating an earlier row of the file."""

    key: str


def cell_text(row: dict, column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's numbers come back as floats: severity 1.0 is "1"
    return str(value).strip()


def error_add(errors: dict, column: str, message: str) -> None:
    errors.setdefault(column, []).append(message)


def keys_imported_before(model, key_field: str, rows: list[dict], id_column: str) -> set[str]:
    """The keys of the file's rows (by their source id) already imported into `model`."""
    keys = {KEY_PREFIX + cell_text(row, id_column) for row in rows if cell_text(row, id_column)}
    found = model.objects.filter(**{f"{key_field}__in": keys})
    return set(found.values_list(key_field, flat=True))


def rows_check_all(rows: list[dict], check: Callable, *, id_column: str) -> dict:
    """Each row's result by row number (from 1): what `check` made of it (an accepted row with
    `key` and `content`, a Skip or a ValidationError). A later row with an accepted row's key is
    one record with it when its content is the same, and refused when it differs."""
    results: dict = {}
    first_row_of: dict[str, tuple[int, str]] = {}
    for number, row in enumerate(rows, start=1):
        result = check(row)
        if not isinstance(result, Skip | ValidationError):
            earlier = first_row_of.get(result.key)
            if earlier is None:
                first_row_of[result.key] = (number, result.content)
            elif earlier[1] == result.content:
                result = Skip(result.key)
            else:
                result = ValidationError(
                    {id_column: [f"Row {earlier[0]} has this {id_column} with other values."]}
                )
        results[number] = result
    return results


class CheckedImportResource(resources.ModelResource):
    """A resource whose rows were all checked in `before_import` (into `self.checked`).

    A subclass sets `key_field` (where the model keeps each record's key), fills `self.checked`
    in `before_import` (see `rows_check_all`), shows an accepted row in the preview with
    `preview(instance, accepted)` and saves it through its service with `write(accepted)`.
    """

    key_field: str

    def __init__(self, now=None, **kwargs):
        super().__init__(**kwargs)
        self.now = now
        self.checked: dict = {}
        self.current = None

    def preview(self, instance, accepted) -> None:
        raise NotImplementedError

    def write(self, accepted):
        raise NotImplementedError

    def get_user_visible_fields(self):
        return [field for field in self.get_import_fields() if not field.readonly]

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        """One transaction for the file, rolled back when any row is refused."""
        kwargs.update(use_transactions=True, rollback_on_validation_errors=True)
        return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, **kwargs)

    def before_import_row(self, row, **kwargs):
        self.current = self.checked.get(kwargs["row_number"])

    def get_instance(self, instance_loader, row):
        if isinstance(self.current, Skip):
            model = self._meta.model
            return model.objects.filter(**{self.key_field: self.current.key}).first()
        return None

    def import_instance(self, instance, row, **kwargs):
        if isinstance(self.current, ValidationError):
            raise self.current
        if self.current is not None and not isinstance(self.current, Skip):
            self.preview(instance, self.current)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return isinstance(self.current, Skip) and not import_validation_errors

    def save_instance(self, instance, is_create, row, **kwargs):
        accepted = self.current
        if self._refused_rows() or accepted is None or isinstance(accepted, Skip):
            return  # nothing of a file with a refused row is written
        if kwargs.get("dry_run") and not kwargs.get("using_transactions"):
            return
        saved = self.write(accepted)
        for field in self._meta.model._meta.concrete_fields:
            setattr(instance, field.attname, getattr(saved, field.attname))
        instance._state.adding = False

    def _refused_rows(self) -> bool:
        return any(isinstance(result, ValidationError) for result in self.checked.values())


class CheckedImportAdminMixin:
    """For an admin with `ImportMixin` over a CheckedImportResource: a row refused at the
    confirmation step (say, its quarter was closed meanwhile) is reported by row and column,
    and the person is sent back to the import page with nothing imported."""

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            for row in result.invalid_rows:
                for column, column_messages in row.error_dict.items():
                    self.message_user(
                        request,
                        f"Row {row.number}, {column}: {' '.join(column_messages)}",
                        messages.ERROR,
                    )
            for number, errors in result.row_errors():
                for error in errors:
                    self.message_user(request, f"Row {number}: {error.error}", messages.ERROR)
            self.message_user(request, "Nothing of the file was imported.", messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_import"))
        return super().process_result(result, request)
