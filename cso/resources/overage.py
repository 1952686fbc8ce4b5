"""The finance overage export as a django-import-export resource, for CSV and XLSX downloads."""

from datetime import date

from import_export import fields, resources, widgets

from ..selectors.overage import COLUMNS as OVERAGE_COLUMNS


class _Cell(widgets.Widget):
    """Plain text in CSV (no locale formatting), native values in XLSX.

    Text that a spreadsheet would run as a formula gets a leading apostrophe.
    """

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if isinstance(value, str):
            return "'" + value if value[:1] in ("=", "+", "-", "@") else value
        if kwargs.get("force_native_type"):
            return value
        return value.isoformat() if isinstance(value, date) else str(value)


class OverageResource(resources.Resource):
    """The finance export's rows (`cso.selectors.overage.overage_rows`), one column each."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fields = {
            name: fields.Field(attribute=name, column_name=name, widget=_Cell())
            for name in OVERAGE_COLUMNS
        }

    def get_export_order(self):
        return tuple(OVERAGE_COLUMNS)
