"""Contract forms for the admin: they refuse what `contract_create` refuses, in the same words.

Each form calls the checks of `cso.services.contracts`. The subscription and rate formsets check
against the contract as entered (`self.instance`, filled from the contract form's cleaned data
before the formsets are validated); the admin saves the contract and its inlines in one
transaction, so a contract with any error is not saved at all.
"""

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError

from .models import Contract
from .services.contracts import (
    SubscriptionSpec,
    contract_term_check,
    overage_rate_check,
    subscription_error_key,
    subscription_signed_fields,
    subscription_terms_copy,
    subscriptions_check,
)


def _live_forms(formset) -> list[forms.Form]:
    """The forms that will be saved: neither marked for deletion nor left blank."""
    return [
        form
        for form in formset.forms
        if not (formset.can_delete and formset._should_delete_form(form))
        and (form.instance.pk is not None or form.has_changed())
    ]


def _term(contract: Contract) -> tuple[date, date] | None:
    """The contract's term as entered, or None while it is incomplete or backwards."""
    if contract.term_start is None or contract.term_end is None:
        return None
    if contract.term_end < contract.term_start:
        return None
    return contract.term_start, contract.term_end


class SubscriptionForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "package" in self.fields:
            # The hours and entitlements were copied from this package at signing.
            self.fields["package"].disabled = True
            self.fields[
                "package"
            ].help_text = "Signed terms: to buy another package, add it and remove this one."


class SubscriptionFormSet(forms.BaseInlineFormSet):
    """Checks the packages against Section 1 with the contract as entered (`self.instance`)."""

    def clean(self):
        super().clean()
        live = _live_forms(self)
        if not live:
            raise ValidationError("A contract buys at least one package.")
        contract, term = self.instance, _term(self.instance)
        if contract.organization_id is None or term is None:
            return  # The contract form reports what is missing.
        checked = [form for form in live if form.is_valid()]
        specs = [
            SubscriptionSpec(
                package=form.cleaned_data["package"],
                lines_of_business=list(form.cleaned_data["lines_of_business"]),
            )
            for form in checked
        ]
        errors: dict[str, list[str]] = {}
        subscriptions_check(
            organization=contract.organization,
            term_start=term[0],
            term_end=term[1],
            subscriptions=specs,
            errors=errors,
            exclude_contract=contract,
        )
        for index, form in enumerate(checked):
            for field_name in ("package", "lines_of_business"):
                for message in errors.get(subscription_error_key(index, field_name), []):
                    form.add_error(field_name, message)

    def save_new(self, form, commit=True):
        """A new subscription signs the package's current terms, as `contract_create` does."""
        for name, value in subscription_signed_fields(form.instance.package).items():
            setattr(form.instance, name, value)
        subscription = super().save_new(form, commit=commit)
        if commit:
            subscription_terms_copy(subscription)
        return subscription


class OverageRateForm(forms.ModelForm):
    def clean_hourly_rate(self):
        errors: dict[str, list[str]] = {}
        rate = overage_rate_check(self.cleaned_data["hourly_rate"], errors, "hourly_rate")
        if errors:
            raise ValidationError(errors["hourly_rate"])
        return rate


class OverageRateFormSet(forms.BaseInlineFormSet):
    """Section 1: hours beyond the package are charged at the rate agreed for the day."""

    def clean(self):
        super().clean()
        live = _live_forms(self)
        if not live:
            raise ValidationError(
                "A contract needs an overage rate: hours beyond the package are charged at it."
            )
        term = _term(self.instance)
        if term is None or not all(form.is_valid() for form in live):
            return
        term_start, term_end = term
        dates = {form: form.cleaned_data["effective_from"] for form in live}
        for form, effective_from in dates.items():
            if not term_start <= effective_from <= term_end:
                # Same rule and words as `overage_rate_set`.
                form.add_error(
                    "effective_from",
                    f"{effective_from} is outside the term {term_start} to {term_end}.",
                )
        if min(dates.values()) > term_start:
            raise ValidationError(
                f"The first overage rate takes effect on the first day of the term "
                f"({term_start}), so that every day has a rate."
            )
        self._keep_closed_quarters_billed()

    def _keep_closed_quarters_billed(self) -> None:
        """A rate in force in a closed quarter is billed; it is neither changed nor removed."""
        if self.instance.pk is None:
            return
        closed = self.instance.closings.order_by("-quarter_end").first()
        if closed is None:
            return
        for form in self.forms:
            touched = self._should_delete_form(form) or form.has_changed()
            days = [form.initial.get("effective_from"), form.cleaned_data.get("effective_from")]
            if touched and any(day is not None and day <= closed.quarter_end for day in days):
                # Same words as `overage_rate_set`.
                raise ValidationError(
                    f"Quarter {closed.quarter_index} (to {closed.quarter_end}) is closed and "
                    f"billed; a new rate can take effect from "
                    f"{closed.quarter_end + timedelta(days=1)}."
                )


class ContractForm(forms.ModelForm):
    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self):
        cleaned_data = super().clean()
        term_start, term_end = cleaned_data.get("term_start"), cleaned_data.get("term_end")
        if term_start and term_end:
            errors: dict[str, list[str]] = {}
            contract_term_check(term_start=term_start, term_end=term_end, errors=errors)
            for message in errors.get("term_end", []):
                self.add_error("term_end", message)
        return cleaned_data
